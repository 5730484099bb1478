/** Stable error codes, each with its HTTP status. docs/errors.md lists them all. */
export const ERROR_CODES = {
  WARDEN_BAD_REQUEST: 400,
  WARDEN_INVALID_INPUT: 400,
  WARDEN_UNAUTHENTICATED: 401,
  WARDEN_FORBIDDEN: 403,
  WARDEN_NOT_FOUND: 404,
  WARDEN_CONFLICT: 409,
  WARDEN_GONE: 410,
  WARDEN_PAYLOAD_TOO_LARGE: 413,
  WARDEN_RATE_LIMITED: 429,
  WARDEN_INTERNAL: 500,
  WARDEN_BAD_GATEWAY: 502,
  WARDEN_UNAVAILABLE: 503,
  WARDEN_TIMEOUT: 504,
  WARDEN_CONFIG: 500,
  WARDEN_LEDGER_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one input field, named by its path (e.g. `events[3].specversion`). */
export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** The one error class Warden throws on purpose; the HTTP layer maps it to a response. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: readonly FieldIssue[];
  /** Seconds the caller should wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { issues?: readonly FieldIssue[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'WardenError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.issues = Object.freeze([...(opts.issues ?? [])]);
    this.retryAfter = opts.retryAfter;
  }
}

/** A 400 naming the offending fields. */
export function invalidInput(issues: readonly FieldIssue[]): WardenError {
  const first = issues[0];
  const summary = first ? `${first.field}: ${first.message}` : 'invalid input';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new WardenError('WARDEN_INVALID_INPUT', `invalid input: ${summary}${more}`, { issues });
}

export function notFound(what: string): WardenError {
  return new WardenError('WARDEN_NOT_FOUND', `${what} not found`);
}
