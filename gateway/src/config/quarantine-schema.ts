import { z } from 'zod';

/** A source's share when `perDevice` is not given (or `size`, when the whole quarantine is smaller). */
const DEFAULT_PER_DEVICE = 100;

/**
 * The quarantine of refused payloads (`GET /api/quarantine`): `size` entries in all, at most `perDevice` of one
 * source (the device, else the MQTT client id, else the topic), so that one device flooding it with garbage pushes
 * out only its own oldest entries, never the evidence of the others.
 */
export const quarantineSchema = z
  .object({
    size: z.number().int().positive().default(1_000),
    perDevice: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((quarantine, ctx) => {
    if (quarantine.perDevice !== undefined && quarantine.perDevice > quarantine.size)
      ctx.addIssue({
        code: 'custom',
        path: ['perDevice'],
        message: `must be at most quarantine.size (${quarantine.size}): quarantine.perDevice is one device's share of it (got ${quarantine.perDevice})`,
      });
  })
  .transform(({ size, perDevice }) => ({ size, perDevice: perDevice ?? Math.min(DEFAULT_PER_DEVICE, size) }));
