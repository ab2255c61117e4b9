import { rfc3339Ms } from './rfc3339.js';
import { MAX_BACKLOG_READINGS, type TelemetryPayload } from './telemetry-schema.js';

/**
 * The shape of contract §2 checked without zod, for the payloads nearly every device sends: well-formed ones.
 * Returns the payload itself when zod's schema (telemetry-schema.ts) would accept it — zod's output is the same
 * but for unknown envelope keys, which nothing downstream reads — and undefined whenever it is not plainly so
 * (anything wrong, or a case that needs zod's finer rules, such as a name longer than its limit in UTF-16 units):
 * then zod judges and words the rejection. No copy, no allocation: zod's generic parse of a well-formed reading
 * costs about 30 times this check (bench/ingest-path.ts). `plain-payload.test.ts` checks against zod,
 * on generated payloads, that this never accepts what zod refuses, so the two cannot drift apart.
 */
export function plainTelemetryPayload(value: unknown): TelemetryPayload | undefined {
  if (!isRecord(value)) return undefined;
  if (!('readings' in value)) return isPlainReading(value) ? (value as TelemetryPayload) : undefined;
  const readings = value.readings;
  if (!Array.isArray(readings) || readings.length === 0 || readings.length > MAX_BACKLOG_READINGS) return undefined;
  if (value.units !== undefined && !isPlainUnits(value.units)) return undefined;
  for (let index = 0; index < readings.length; index += 1) if (!isPlainReading(readings[index])) return undefined;
  return value as TelemetryPayload;
}

/** A JSON object (not an array, not null). */
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** zod's `.int().nonnegative()`: a safe integer ≥ 0. */
const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const isPlainTimestamp = (value: unknown): boolean => isCount(value) || (typeof value === 'string' && !Number.isNaN(rfc3339Ms(value)));

function isPlainReading(value: unknown): boolean {
  if (!isRecord(value)) return false;
  if (value.ts !== undefined && !isPlainTimestamp(value.ts)) return false;
  if (value.seq !== undefined && !isCount(value.seq)) return false;
  if (value.units !== undefined && !isPlainUnits(value.units)) return false;
  const metrics = value.metrics;
  if (!isRecord(metrics)) return false;
  let count = 0;
  for (const name in metrics) {
    if (!Object.hasOwn(metrics, name) || name.length === 0 || name.length > 64 || name === '__proto__') return false;
    const metric = metrics[name];
    if (typeof metric === 'number') {
      if (!Number.isFinite(metric)) return false;
    } else if (typeof metric === 'string') {
      if (metric.length > 64) return false;
    } else if (typeof metric !== 'boolean') return false;
    count += 1;
  }
  return count > 0;
}

function isPlainUnits(value: unknown): boolean {
  if (!isRecord(value)) return false;
  for (const name in value) {
    if (!Object.hasOwn(value, name) || name === '__proto__') return false;
    const unit = value[name];
    if (typeof unit !== 'string' || unit.length > 32) return false;
  }
  return true;
}
