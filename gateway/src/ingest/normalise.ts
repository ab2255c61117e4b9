import type { Profile } from '../../../profiles/index.js';
import type { MetricValue, Reading } from '../../../rules/src/index.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { type Rejection, reject } from './rejection.js';
import { rfc3339Ms } from './rfc3339.js';
import type { RawReading, TelemetryPayload } from './telemetry-schema.js';
import { cachedValueCheckOf } from './value-schema-cache.js';

/** Readings of one payload, in canonical units, each with its device time (null: the receive time was used). */
export interface NormalisedReading {
  reading: Reading;
  deviceTs: number | null;
}

const toEpochMs = (ts: number | string): number => (typeof ts === 'number' ? ts : rfc3339Ms(ts));

type MetricsResult = { ok: true; metrics: Record<string, MetricValue> } | { ok: false; rejection: Rejection };

const refuse = (rejection: Rejection): MetricsResult => ({ ok: false, rejection });
const NO_UNITS: Readonly<Record<string, string>> = Object.freeze({});

function normaliseMetrics(
  profile: Profile,
  raw: RawReading,
  sharedUnits: Record<string, string> | undefined,
  where: string,
): MetricsResult {
  // Names are looked up as own properties only: `constructor` or `valueOf` is no metric and no unit. Most readings
  // carry no units: no object is made for them (this runs for every reading).
  const units: Readonly<Record<string, string>> =
    sharedUnits === undefined ? (raw.units ?? NO_UNITS) : raw.units === undefined ? sharedUnits : { ...sharedUnits, ...raw.units };
  const metrics: Record<string, MetricValue> = {};
  const names = Object.keys(raw.metrics);
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i] as string;
    const value = raw.metrics[name] as RawReading['metrics'][string];
    const spec = Object.hasOwn(profile.metrics, name) ? profile.metrics[name] : undefined;
    if (!spec) return refuse(reject('unknown_metric', `${where}metrics.${name}: not a metric of profile ${profile.id}`));
    if (!cachedValueCheckOf(spec)(value)) {
      const expected = spec.type === 'enum' ? `one of ${spec.values.join(', ')}` : `a ${spec.type}`;
      return refuse(reject('type', `${where}metrics.${name}: expected ${expected}, got ${JSON.stringify(value)}`));
    }
    const unit = Object.hasOwn(units, name) ? units[name] : undefined;
    if (unit !== undefined && spec.type === 'number') {
      const convert = Object.hasOwn(spec.units, unit) ? spec.units[unit] : undefined;
      if (!convert)
        return refuse(
          reject(
            'unit',
            `${where}units.${name}: cannot convert "${unit}" to ${spec.unit} (accepted: ${Object.keys(spec.units).join(', ')})`,
          ),
        );
      const converted = convert(value as number);
      // 1e308 MPa is more pascals than a double holds: no rule or InfluxDB float field takes Infinity
      if (!Number.isFinite(converted))
        return refuse(reject('type', `${where}metrics.${name}: ${value} ${unit} is beyond the numbers a reading holds in ${spec.unit}`));
      metrics[name] = converted;
    } else if (unit !== undefined) {
      return refuse(reject('unit', `${where}units.${name}: ${spec.type} metrics take no unit`));
    } else {
      metrics[name] = value;
    }
  }
  for (const name of Object.keys(units)) {
    if (!Object.hasOwn(profile.metrics, name))
      return refuse(reject('unknown_metric', `${where}units.${name}: not a metric of profile ${profile.id}`));
  }
  return { ok: true, metrics };
}

/** Validates every reading of a payload against the device's profile and converts units; one bad reading rejects the payload. */
export function normalisePayload(
  payload: TelemetryPayload,
  device: RegisteredDevice,
  profile: Profile,
  receivedAt: number,
): NormalisedReading[] | Rejection {
  const batch = 'readings' in payload;
  const raws = batch ? payload.readings : [payload];
  const out: NormalisedReading[] = [];
  for (let index = 0; index < raws.length; index += 1) {
    const raw = raws[index] as RawReading;
    const where = batch ? `readings[${index}].` : '';
    const metrics = normaliseMetrics(profile, raw, batch ? payload.units : undefined, where);
    if (!metrics.ok) return metrics.rejection;
    const deviceTs = raw.ts === undefined ? null : toEpochMs(raw.ts);
    out.push({
      deviceTs,
      reading: {
        site: device.site,
        device: device.id,
        profile: device.profile,
        ts: deviceTs ?? receivedAt,
        receivedAt,
        seq: raw.seq,
        metrics: metrics.metrics,
      },
    });
  }
  return out;
}
