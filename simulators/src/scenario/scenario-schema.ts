import { z } from 'zod';
import { severitySchema } from '../../../rules/src/index.js';
import { durationField } from '../time/duration.js';
import { behaviourSchema } from './behaviour-schema.js';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;
const id = z.string().regex(idPattern, 'expected 1–64 characters of A-Z a-z 0-9 _ -');
const attributeValue = z.union([z.number(), z.boolean(), z.string()]);

export const scenarioDeviceSchema = z
  .object({
    id,
    site: id,
    profile: z.string().min(1),
    name: z.string().optional(),
    /** Registry attributes (set-points, design values), as the gateway's device registry holds them. */
    attributes: z.record(z.string(), attributeValue).default({}),
    /** Knobs of the device model (`role`, `lagHours`, `firstCastAfterMin` …). */
    model: z.record(z.string(), attributeValue).default({}),
    /** A fixed reporting interval instead of the model's. */
    interval: durationField.optional(),
    /** Readings per message: > 1 sends `readings` batches, as casting PLCs do. */
    batch: z.number().int().min(1).max(1000).default(1),
  })
  .strict();

/** An alarm the scenario must raise: which rule on which device, the highest severity it reaches, and when. */
export const expectedAlarmSchema = z
  .object({
    device: z.string(),
    site: z.string().optional(),
    rule: z.string(),
    /** The highest severity the alarm reaches during the run. */
    severity: severitySchema,
    /** Earliest raise, from the start of the run. */
    at: durationField.default(0),
    /** Latest raise, after `at`. */
    within: durationField,
    note: z.string().optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    /** The profile the scenario is about (`mixed` for several). */
    profile: z.string().min(1),
    seed: z.number().int().nonnegative().default(1),
    /** Virtual start (RFC 3339); real-time runs start now and keep only the time of day of nothing. */
    start: z
      .string()
      .refine((text) => !Number.isNaN(Date.parse(text)), 'expected an RFC 3339 time')
      .default('2026-11-23T08:00:00+08:00'),
    duration: durationField,
    /** How the test feeds it: through the real broker (virtual clock), or straight into the engine (days of data). */
    feed: z.enum(['broker', 'engine']).default('broker'),
    /** Resolution of the virtual clock for timer-driven rules. */
    tick: durationField.default(1_000),
    devices: z.array(scenarioDeviceSchema).min(1),
    timeline: z.array(behaviourSchema).default([]),
    /** Exactly the alarms the run must raise; empty: it must raise none. */
    expect: z.array(expectedAlarmSchema).default([]),
  })
  .strict()
  .superRefine((scenario, ctx) => {
    const ids = new Set<string>();
    scenario.devices.forEach((device, index) => {
      if (ids.has(device.id))
        ctx.addIssue({ code: 'custom', path: ['devices', index, 'id'], message: `duplicate device id "${device.id}"` });
      ids.add(device.id);
    });
    scenario.timeline.forEach((entry, index) => {
      for (const name of [...(entry.device ? [entry.device] : []), ...(entry.devices ?? [])]) {
        if (!ids.has(name))
          ctx.addIssue({ code: 'custom', path: ['timeline', index, 'device'], message: `no device "${name}" in this scenario` });
      }
    });
  });

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioDevice = z.infer<typeof scenarioDeviceSchema>;
export type ExpectedAlarm = z.infer<typeof expectedAlarmSchema>;
