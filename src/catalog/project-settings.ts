import { z } from 'zod';

/** How a project governs promotions; stored as JSON on the project, defaults filled in. */
export const projectSettingsSchema = z
  .object({
    /** Approvals a promotion to each stage needs (from principals allowed `model_version.approve`). */
    approvals: z
      .object({
        staging: z.number().int().min(0).max(10).default(0),
        production: z.number().int().min(0).max(10).default(2),
      })
      .strict()
      .default({ staging: 0, production: 2 }),
    /** Evaluation metrics a version's provenance must report, with bounds, e.g. `{auc: {min: 0.9}}`. */
    metricThresholds: z
      .record(
        z.string().min(1).max(100),
        z.object({ min: z.number().optional(), max: z.number().optional() }).strict(),
      )
      .default({}),
    /** How long a promotion request stays open before it expires. */
    requestTtlHours: z.number().positive().max(2160).default(72),
  })
  .strict();

/** A project's promotion rules. */
export type ProjectSettings = z.infer<typeof projectSettingsSchema>;

/** The settings stored on a project row (validated when written, so parsing cannot fail). */
export function parseProjectSettings(json: string): ProjectSettings {
  return projectSettingsSchema.parse(JSON.parse(json));
}
