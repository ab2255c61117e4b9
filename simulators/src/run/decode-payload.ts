import type { Profile } from '../../../profiles/index.js';
import type { MetricValue, Reading } from '../../../rules/src/index.js';

/** Contract/domain: device times more than 5 minutes ahead are refused. */
const MAX_AHEAD_MS = 5 * 60_000;

type RawReading = { ts?: unknown; seq?: unknown; metrics?: unknown };

/**
 * A lean stand-in for the gateway's ingest, for engine-only runs of days of data: JSON, shape, known metrics
 * and units (converted to canonical), future times and duplicates dropped. The broker-fed tests exercise
 * the real ingest; this only keeps the engine from seeing what the gateway would refuse.
 *
 * A duplicate is a repeated `seq` with the same `ts` (QoS 1 redelivery, contract §2); `seen` holds `seq@ts` keys. The
 * same `seq` with another time is a restarted device counting again, and its readings count.
 */
export function decodePayload(
  payload: string,
  device: { site: string; device: string; profile: string },
  profile: Profile,
  receivedAt: number,
  seen: Set<string>,
): { readings: Reading[]; rejected: string | null } {
  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    return { readings: [], rejected: 'decode' };
  }
  if (typeof body !== 'object' || body === null) return { readings: [], rejected: 'schema' };
  const envelope = body as { readings?: unknown; units?: Record<string, string> } & RawReading;
  const raw: RawReading[] = Array.isArray(envelope.readings) ? (envelope.readings as RawReading[]) : [envelope];
  const units = envelope.units ?? {};
  const readings: Reading[] = [];
  for (const item of raw) {
    if (typeof item.metrics !== 'object' || item.metrics === null || Object.keys(item.metrics).length === 0)
      return { readings: [], rejected: 'schema' };
    const ts = typeof item.ts === 'number' ? item.ts : typeof item.ts === 'string' ? Date.parse(item.ts) : receivedAt;
    if (Number.isNaN(ts)) return { readings: [], rejected: 'schema' };
    const metrics: Record<string, MetricValue> = {};
    for (const [name, value] of Object.entries(item.metrics as Record<string, MetricValue>)) {
      const spec = profile.metrics[name];
      if (!spec) return { readings: [], rejected: 'unknown_metric' };
      if (spec.type === 'number') {
        if (typeof value !== 'number') return { readings: [], rejected: 'type' };
        const unit = units[name];
        const convert = unit === undefined || unit === spec.unit ? (v: number) => v : spec.units[unit];
        if (!convert) return { readings: [], rejected: 'unit' };
        metrics[name] = convert(value);
      } else if (spec.type === 'boolean') {
        if (typeof value !== 'boolean') return { readings: [], rejected: 'type' };
        metrics[name] = value;
      } else {
        if (typeof value !== 'string' || !spec.values.includes(value)) return { readings: [], rejected: 'type' };
        metrics[name] = value;
      }
    }
    readings.push({ ...device, ts, receivedAt, seq: typeof item.seq === 'number' ? item.seq : undefined, metrics });
  }
  return {
    readings: readings.filter((reading) => {
      if (reading.ts > receivedAt + MAX_AHEAD_MS) return false;
      if (reading.seq === undefined) return true;
      const key = `${reading.seq}@${reading.ts}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }),
    rejected: null,
  };
}
