import { z } from 'zod';

const rate = z
  .object({ perSecond: z.number().positive().max(1_000_000), burst: z.number().int().min(1).max(1_000_000) })
  .strict();

/** An endpoint's gateway settings (stored as JSON on the endpoint; every field optional). */
export const gatewaySettingsSchema = z
  .object({
    /** Calls per second to the endpoint from everyone together. */
    rateLimit: rate.optional(),
    /** Calls per second to the endpoint from each principal (default: the deployment-wide setting). */
    principalRateLimit: rate.optional(),
    /** Largest request body (at most the deployment-wide cap). */
    maxPayloadBytes: z.number().int().min(1).optional(),
    /** Upstream timeout for response headers and between body chunks (ms). */
    timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    /**
     * Store request payloads in the ledger with these JSON fields replaced (names match at any
     * depth; dotted paths follow keys). Unset: only the payload's SHA-256 is kept.
     */
    redactFields: z.array(z.string().min(1).max(200)).max(100).optional(),
    /** When the ledger cannot take events: refuse calls (default) or serve them unrecorded. */
    onLedgerUnavailable: z.enum(['fail-closed', 'fail-open']).default('fail-closed'),
  })
  .strict();

/** Parsed gateway settings of one endpoint. */
export type GatewaySettings = z.infer<typeof gatewaySettingsSchema>;
