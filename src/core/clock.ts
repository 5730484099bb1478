/** The source of time; tests pass a fixed or stepped clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** RFC 3339 UTC timestamp with millisecond precision. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}
