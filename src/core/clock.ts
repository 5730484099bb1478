/** The source of time; tests pass a fixed or stepped clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** RFC 3339 UTC timestamp with millisecond precision. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * An RFC 3339 date-time (`T` or `t`, fraction optional, `Z` or an offset), its parts captured: year,
 * month, day, hour, minute, second, fraction, zone, offset hours, offset minutes. The pattern only:
 * whether the date and time exist is the caller's check.
 */
export const RFC3339_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/i;
