import { createRng, MODELS } from '../../simulators/src/index.js';

export type Metrics = Record<string, number | boolean | string>;

/**
 * Metric sets of a dry dust collector without explosion-protection valves, as the simulator's model
 * reports them every 30 s of plant time (ΔP saw-tooth, temperatures, fan, line, rotary valve, sparks,
 * duct velocity: 9 metrics, ~230-byte payloads). Normal operation: no thresholds crossed.
 */
export function dustCollectorReports(count: number, seed = 42): Metrics[] {
  const model = MODELS.get('dust-collector');
  if (!model) throw new Error('simulators have no dust-collector model');
  const start = Date.UTC(2026, 10, 22, 0, 0, 0);
  const device = model.create({ rng: createRng(seed), attributes: {}, params: { explosionProtection: false }, start });
  const out: Metrics[] = [];
  for (let i = 0; out.length < count; i += 1) {
    const report = device.read(start + i * 30_000, []);
    if (report) out.push(report.metrics);
  }
  return out;
}

/** Contract §2 single-reading payload. */
export const telemetryPayload = (metrics: Metrics, ts: number, seq: number): Buffer => Buffer.from(JSON.stringify({ ts, seq, metrics }));

export const telemetryTopic = (site: string, device: string): string => `sites/${site}/devices/${device}/telemetry`;
