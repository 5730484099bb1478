import { z } from 'zod';
import { type FieldIssue, invalidInput, RFC3339_PATTERN } from '../core/index.js';
import type { EventActor, EventInput } from './event.js';

/** Most CloudEvents accepted in one batch request. */
export const MAX_BATCH = 1000;

const CONTEXT = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
]);

const cloudEvent = z
  .object({
    specversion: z.literal('1.0', { error: 'must be "1.0"' }),
    id: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
    source: z.string({ error: 'must be a string' }).min(1, 'must not be empty'),
    type: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(200),
    datacontenttype: z.string().min(1).optional(),
    dataschema: z.string().url('must be an absolute URI').optional(),
    subject: z.string().min(1, 'must not be empty').optional(),
    time: z
      .string()
      .regex(RFC3339_PATTERN, 'must be an RFC 3339 timestamp')
      .refine((t) => !Number.isNaN(Date.parse(t)), 'must be a valid date')
      .optional(),
    data: z.unknown().optional(),
    data_base64: z.string().base64('must be base64').optional(),
  })
  .catchall(
    z.union([z.string(), z.number(), z.boolean()], {
      error: 'extension attributes must be strings, numbers or booleans',
    }),
  )
  .superRefine((ev, ctx) => {
    if (ev.data !== undefined && ev.data_base64 !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['data_base64'],
        message: 'data and data_base64 cannot both be present',
      });
    }
    for (const key of Object.keys(ev)) {
      if (!CONTEXT.has(key) && key !== 'data' && key !== 'data_base64' && !/^[a-z0-9]{1,20}$/.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'attribute names are 1-20 lowercase letters or digits',
        });
      }
    }
  });

/** One validated CloudEvent. */
export type CloudEvent = z.infer<typeof cloudEvent>;

/**
 * Validates a structured-mode CloudEvents 1.0 JSON body: one event object, or an array (batch) of at
 * most MAX_BATCH. Any invalid field rejects the whole request, naming it (e.g. `[3].time`).
 */
export function parseCloudEvents(body: unknown): CloudEvent[] {
  const batch = Array.isArray(body);
  const items = batch ? body : [body];
  if (items.length === 0)
    throw invalidInput([{ field: 'body', message: 'a batch must hold at least one event' }]);
  if (items.length > MAX_BATCH) {
    throw invalidInput([
      { field: 'body', message: `a batch holds at most ${MAX_BATCH} events, got ${items.length}` },
    ]);
  }
  const issues: FieldIssue[] = [];
  const events: CloudEvent[] = [];
  items.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      issues.push({ field: batch ? `[${i}]` : 'body', message: 'must be a JSON object' });
      return;
    }
    const r = cloudEvent.safeParse(item);
    if (r.success) events.push(r.data);
    else {
      for (const issue of r.error.issues) {
        const path = issue.path.map(String).join('.');
        issues.push({ field: batch ? `[${i}].${path}` : path, message: issue.message });
      }
    }
  });
  if (issues.length > 0) throw invalidInput(issues);
  return events;
}

/** The ledger event recording one ingested CloudEvent, attributed to the caller. */
export function cloudEventToInput(ce: CloudEvent, actor: EventActor): EventInput {
  const { specversion: _v, id, source, type, subject, wardenproject, wardenenvironment, ...rest } = ce;
  const context: { project?: string; environment?: string } = {};
  if (typeof wardenproject === 'string') context.project = wardenproject;
  if (typeof wardenenvironment === 'string') context.environment = wardenenvironment;
  return {
    actor,
    action: `external.${type}`,
    resource: { type: 'ExternalEvent', id: `${source}#${id}` },
    outcome: 'succeeded',
    ...(Object.keys(context).length > 0 ? { context } : {}),
    details: {
      cloudevent: { specversion: '1.0', id, source, type, ...(subject ? { subject } : {}), ...rest },
    },
  };
}
