import { z } from 'zod';

/** Schemas of fields several tools return (their handlers share handlers/_shared.ts). */

export const freshnessSchema = z.object({
  events: z.number(),
  newest_event: z.string().nullable(),
  lag_ms: z.number().nullable(),
  refreshed_at: z.string().nullable(),
  refresh_ms: z.number().nullable(),
  mode: z.enum(['shared', 'private']),
});
