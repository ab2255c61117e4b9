import { z } from 'zod';
import { durationField, signedDurationField } from '../time/duration.js';

const paramValue = z.union([z.number(), z.string(), z.boolean()]);

/** When and on which devices a timeline entry acts; no `device`/`devices`: every device of the scenario. */
const base = {
  at: durationField.default(0),
  /** How long it lasts; absent: to the end of the run (or until a later `normal`). */
  for: durationField.optional(),
  device: z.string().optional(),
  devices: z.array(z.string()).min(1).optional(),
  /** What a reader of the scenario should know about this step. */
  note: z.string().optional(),
};

export const MALFORMED_KINDS = [
  'not_json',
  'wrong_shape',
  'unknown_metric',
  'wrong_type',
  'empty_metrics',
  'too_large',
  'bad_timestamp',
] as const;

/** The timeline's vocabulary: physical events of the model, sensor faults, and transport misbehaviour. */
export const behaviourSchema = z.discriminatedUnion('do', [
  /** Ends every behaviour and event on the devices: back to a healthy plant and link. */
  z.object({ do: z.literal('normal'), ...base }).strict(),
  /** A physical event of the device's model (pump_trip, rainstorm, ventilation_stop …). */
  z.object({ do: z.literal('event'), ...base, name: z.string().min(1), params: z.record(z.string(), paramValue).default({}) }).strict(),
  /** The metric moves `rate` units per minute, optionally no further than `to`; `return`: back over that long after `for`. */
  z
    .object({
      do: z.literal('drift'),
      ...base,
      metric: z.string(),
      rate: z.number(),
      to: z.number().optional(),
      return: durationField.optional(),
    })
    .strict(),
  /** A pulse to `to`: rise, hold, fall (a burst of gas, a pressure spike). */
  z
    .object({
      do: z.literal('burst'),
      ...base,
      metric: z.string(),
      to: z.number(),
      rise: durationField.default(10_000),
      hold: durationField.default(0),
      fall: durationField.default(60_000),
    })
    .strict(),
  /** The sensor freezes at the value it had when this began (flat-line). */
  z.object({ do: z.literal('stuck'), ...base, metric: z.string() }).strict(),
  /** The sensor is dead or open-circuit: a constant value outside the physical range (−50, 850, 0). */
  z.object({ do: z.literal('dead'), ...base, metric: z.string(), value: z.number() }).strict(),
  /** Metrics forced to values: a valve reporting `fault`, a fan reporting false. */
  z.object({ do: z.literal('set'), ...base, metrics: z.record(z.string(), paramValue) }).strict(),
  /** Noise on a threshold: the metric jumps uniformly within ±amplitude around `around` (flapping bait). */
  z.object({ do: z.literal('flap'), ...base, metric: z.string(), around: z.number(), amplitude: z.number().positive() }).strict(),
  /** The device drops off the network; `graceful: false` (default) leaves its Last Will to say so. */
  z
    .object({
      do: z.literal('offline'),
      ...base,
      for: durationField,
      /** Keep measuring while offline and upload the backlog (`readings`) on reconnect. */
      backlog: z.boolean().default(false),
      graceful: z.boolean().default(false),
    })
    .strict(),
  /** One payload of each listed kind, sent next to the normal telemetry. */
  z
    .object({
      do: z.literal('malformed'),
      ...base,
      kinds: z
        .array(z.enum(MALFORMED_KINDS))
        .min(1)
        .default([...MALFORMED_KINDS]),
    })
    .strict(),
  /** QoS 1 redelivery: every `every`-th message in the window is delivered twice (same seq). */
  z.object({ do: z.literal('duplicate'), ...base, every: z.number().int().positive().default(1) }).strict(),
  /** Out-of-order delivery: consecutive messages are swapped in pairs. */
  z.object({ do: z.literal('reorder'), ...base }).strict(),
  /** The device clock is off by `offset` ("+10m", "-90s"). */
  z.object({ do: z.literal('skew'), ...base, offset: signedDurationField }).strict(),
  /** The device reports every `every` instead of its normal interval. */
  z.object({ do: z.literal('interval'), ...base, every: durationField }).strict(),
]);

export type Behaviour = z.infer<typeof behaviourSchema>;
export type BehaviourKind = Behaviour['do'];
export type MalformedKind = (typeof MALFORMED_KINDS)[number];
