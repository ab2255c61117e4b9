import { z } from 'zod';

export const metricValueSchema = z.union([z.number(), z.boolean(), z.string()]);
export type MetricValue = z.infer<typeof metricValueSchema>;

/** One normalised reading of one device: metrics in canonical units, `ts` in epoch milliseconds. */
export interface Reading {
  site: string;
  device: string;
  profile: string;
  /** Measurement time (the device's clock, or the gateway's when the device sent none). */
  ts: number;
  /** When the gateway received it (its own clock); silence is measured from this. Defaults to `ts`. */
  receivedAt?: number | undefined;
  seq?: number | undefined;
  metrics: Record<string, MetricValue>;
}

/**
 * The time a reading counts at: its own, but no later than its arrival — a reading stamped ahead (a fast device clock)
 * counts at its arrival, or one stamped minutes ahead would make every reading after it older than the newest seen.
 */
export const countedAt = (ts: number, arrivedAt: number): number => Math.min(ts, arrivedAt);

/**
 * What the engine knows about a device besides the reading in hand. The attribute `reportingIntervalMs`
 * (a number), when present, overrides the profile's reporting interval for silence rules.
 */
export interface DeviceContext {
  site: string;
  device: string;
  profile: string;
  attributes: Record<string, MetricValue>;
}
