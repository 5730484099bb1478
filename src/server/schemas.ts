import { z } from 'zod';

/** A non-negative integer given as a query string. */
export const index = z.coerce
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be ≥ 0');

/** `?wait=integrated` asks to block until the events have sequence numbers. */
export const wait = z.enum(['integrated'], { error: 'the only value is "integrated"' }).optional();

/** An RFC 3339 timestamp turned into epoch milliseconds. */
export const timestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i, 'must be an RFC 3339 timestamp')
  .transform((s) => Date.parse(s));
