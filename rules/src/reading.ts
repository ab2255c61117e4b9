import { z } from 'zod';

export const metricValueSchema = z.union([z.number(), z.boolean(), z.string()]);
export type MetricValue = z.infer<typeof metricValueSchema>;

/** One normalised reading of one device: metrics in canonical units, `ts` in epoch milliseconds. */
export interface Reading {
  site: string;
  device: string;
  profile: string;
  ts: number;
  seq?: number | undefined;
  metrics: Record<string, MetricValue>;
}

/** What the engine knows about a device besides the reading in hand. */
export interface DeviceContext {
  site: string;
  device: string;
  profile: string;
  attributes: Record<string, MetricValue>;
}
