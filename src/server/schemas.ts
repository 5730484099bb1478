import { z } from 'zod';
import { RFC3339_PATTERN } from '../core/index.js';

/** A non-negative integer given as a query string. */
export const index = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be ≥ 0');

/** `?wait=integrated` asks to block until the events have sequence numbers. */
export const wait = z.enum(['integrated'], { error: 'the only value is "integrated"' }).optional();

/** Whether an RFC 3339 timestamp names a real instant: no month 13, no 30 February, no 25 o'clock. */
function exists(s: string): boolean {
  const m = RFC3339_PATTERN.exec(s);
  if (m === null) return false;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  const offsetOk = m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  return day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59 && offsetOk;
}

/** An RFC 3339 timestamp of a date and time that exist, turned into epoch milliseconds. */
export const timestamp = z
  .string()
  .regex(RFC3339_PATTERN, 'must be an RFC 3339 timestamp')
  .transform((s, ctx) => {
    const ms = Date.parse(s);
    if (!exists(s) || Number.isNaN(ms)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be an RFC 3339 timestamp of a date and time that exist (leap seconds, :60, are not taken)',
      });
      return z.NEVER;
    }
    return ms;
  });
