import { z } from 'zod';
import { rfc3339Ms } from './rfc3339.js';

/** Backlog uploads hold at most this many readings (contract §2). */
export const MAX_BACKLOG_READINGS = 1000;

const timestamp = z.union([
  z.number().int().nonnegative(),
  z.string().refine((text) => !Number.isNaN(rfc3339Ms(text)), {
    message: 'expected an RFC 3339 time such as 2026-11-22T08:00:00Z',
  }),
]);

const metricValue = z.union([z.number(), z.boolean(), z.string().max(64)]);
const units = z.record(z.string(), z.string().max(32));

const readingSchema = z.object({
  ts: timestamp.optional(),
  seq: z.number().int().nonnegative().optional(),
  metrics: z
    .record(z.string().min(1).max(64), metricValue)
    .refine((metrics) => Object.keys(metrics).length > 0, 'at least one metric is required'),
  units: units.optional(),
});

const backlogSchema = z.object({ readings: z.array(readingSchema).min(1).max(MAX_BACKLOG_READINGS), units: units.optional() });

/**
 * Contract §2: one reading, or a backlog of readings (an object with `readings`). Unknown envelope keys
 * are ignored. The form is chosen by the presence of `readings`, so errors name the fields of that form.
 */
export type TelemetryPayload = z.infer<typeof readingSchema> | z.infer<typeof backlogSchema>;

export function parseTelemetryPayload(value: unknown): z.ZodSafeParseResult<TelemetryPayload> {
  const isBacklog = typeof value === 'object' && value !== null && 'readings' in value;
  return (isBacklog ? backlogSchema : readingSchema).safeParse(value);
}
export type RawReading = z.infer<typeof readingSchema>;

/** Contract §1: the retained status payload. */
export const statusPayloadSchema = z.enum(['online', 'offline']);
