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

/** The settings as stored on the endpoint row: the upstream credential only in sealed form. */
const storedSchema = gatewaySettingsSchema.extend({ upstreamAuthorizationSealed: z.string().optional() });

/** Stored gateway settings of one endpoint row. */
export type StoredSettings = z.infer<typeof storedSchema>;

/** Parses an endpoint row's `settings` JSON. */
export function storedSettings(json: string): StoredSettings {
  return storedSchema.parse(JSON.parse(json));
}

/**
 * What `PUT /api/v1/endpoints/:id/gateway` accepts: the settings, plus `upstreamAuthorization`, the
 * exact `Authorization` header value for the model server (sealed at rest, never shown again).
 * A string sets it, `null` removes it, and leaving it out keeps the current one.
 */
export const gatewaySettingsInput = gatewaySettingsSchema.extend({
  upstreamAuthorization: z
    .string()
    .min(1)
    .max(8192)
    .regex(/^[\t\x20-\x7e]+$/, 'must be printable ASCII (a header value)')
    .nullable()
    .optional(),
});

/** Parsed input of a settings change. */
export type GatewaySettingsInput = z.infer<typeof gatewaySettingsInput>;
