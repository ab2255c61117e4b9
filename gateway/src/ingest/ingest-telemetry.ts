import type { Profile } from '../../../profiles/index.js';
import { formatPath } from '../config/problems.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { decodeJson } from './decode.js';
import { findProtoKey } from './inherited-keys.js';
import { type NormalisedReading, normalisePayload } from './normalise.js';
import { plainTelemetryPayload } from './plain-payload.js';
import { type Rejection, reject } from './rejection.js';
import { type SeqWindow, seqTimeOf } from './seq-window.js';
import { parseTelemetryPayload } from './telemetry-schema.js';

/** How far from the gateway's clock a device time may be (contract §2: `future_timestamp`, `past_timestamp`). */
export interface TimestampWindow {
  maxAheadMs: number;
  maxBehindMs: number;
}

/** The defaults of `ingest.maxClockAhead` and `ingest.maxAge`. */
export const DEFAULT_TIMESTAMP_WINDOW: TimestampWindow = { maxAheadMs: 5 * 60_000, maxBehindMs: 90 * 86_400_000 };

/**
 * The window of a configuration: `ingest.maxClockAhead` ahead; behind, `ingest.maxAge` or InfluxDB's retention if that
 * is shorter — a reading InfluxDB would refuse for its age is refused at once with its reason (`past_timestamp`), not
 * acknowledged, then refused point by point by InfluxDB and lost from the quarantine's view.
 */
export function timestampWindowOf(
  ingest: { maxClockAhead: number; maxAge: number },
  influx: { mode: string; retention: number | 'inf' },
): TimestampWindow {
  const retention = influx.mode === 'off' || influx.retention === 'inf' ? Number.POSITIVE_INFINITY : influx.retention;
  return { maxAheadMs: ingest.maxClockAhead, maxBehindMs: Math.min(ingest.maxAge, retention) };
}

export interface IngestOutcome {
  accepted: NormalisedReading[];
  /** Payload-level rejection, or one per refused reading (duplicates, future times). */
  rejections: Rejection[];
}

export interface TelemetryIngestDeps {
  maxPayloadBytes: number;
  seqWindow: SeqWindow;
  timestamps: TimestampWindow;
  /**
   * The last time given to a reading without its own, per device: each such reading gets a millisecond of its own
   * (its arrival, or one after the last), or InfluxDB would keep one point for a backlog sent without times, or for
   * two publishes of a clockless device in the same millisecond. Absent: the arrival as it is.
   */
  arrivalTimes?: Map<string, number>;
}

/** A device time for a rejection detail; times beyond what a Date can hold are shown as the number sent. */
const describeTime = (ts: number): string => (Math.abs(ts) <= 8.64e15 ? new Date(ts).toISOString() : `${ts} ms`);

function timestampRejection(reading: NormalisedReading['reading'], receivedAt: number, window: TimestampWindow): Rejection | null {
  const ahead = reading.ts - receivedAt;
  if (ahead > window.maxAheadMs)
    return reject(
      'future_timestamp',
      `seq ${reading.seq ?? '-'}: ${describeTime(reading.ts)} is ${Math.round(ahead / 1000)} s ahead of the gateway (limit ${window.maxAheadMs / 1000} s)`,
    );
  if (-ahead > window.maxBehindMs)
    return reject(
      'past_timestamp',
      `seq ${reading.seq ?? '-'}: ${describeTime(reading.ts)} is ${Math.round(-ahead / 1000)} s behind the gateway (limit ${window.maxBehindMs / 1000} s)`,
    );
  return null;
}

/**
 * How far ahead of its arrival a reading without a device time may be put to get a millisecond of its own: a device
 * sending faster than a reading a millisecond keeps its times at most this far ahead (past it, readings share one).
 */
export const MAX_ARRIVAL_LEAD_MS = 1_000;

/** Gives each reading without a device time a millisecond of its own (`arrivalTimes`), at most MAX_ARRIVAL_LEAD_MS on. */
function stampArrivals(last: Map<string, number>, device: string, accepted: NormalisedReading[]): void {
  for (const { deviceTs, reading } of accepted) {
    if (deviceTs !== null) continue;
    const previous = last.get(device);
    if (previous !== undefined && reading.ts <= previous) reading.ts = Math.min(previous + 1, reading.ts + MAX_ARRIVAL_LEAD_MS);
    last.set(device, reading.ts);
  }
}

/** decode → validate the shape (plain payloads without zod, the rest with it) → validate and convert against the profile → drop times out of the window and duplicates. */
export function ingestTelemetry(
  deps: TelemetryIngestDeps,
  device: RegisteredDevice,
  profile: Profile,
  payload: Buffer,
  receivedAt: number,
): IngestOutcome {
  const refused = (rejection: Rejection): IngestOutcome => ({ accepted: [], rejections: [rejection] });
  if (payload.length > deps.maxPayloadBytes)
    return refused(reject('too_large', `${payload.length} bytes > limit of ${deps.maxPayloadBytes}`));
  const decoded = decodeJson(payload);
  if (!decoded.ok) return refused(decoded.rejection);
  const protoKey = findProtoKey(decoded.value);
  if (protoKey) return refused(reject('unknown_metric', `${protoKey}: not a metric of profile ${profile.id}`));
  let shape = plainTelemetryPayload(decoded.value);
  if (!shape) {
    const shaped = parseTelemetryPayload(decoded.value);
    if (!shaped.success) {
      const detail = shaped.error.issues
        .slice(0, 5)
        .map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`)
        .join('; ');
      return refused(reject('schema', detail));
    }
    shape = shaped.data;
  }
  const normalised = normalisePayload(shape, device, profile, receivedAt);
  if (!Array.isArray(normalised)) return refused(normalised);

  const outcome: IngestOutcome = { accepted: [], rejections: [] };
  for (const item of normalised) {
    const { reading } = item;
    const outOfWindow = timestampRejection(reading, receivedAt, deps.timestamps);
    if (outOfWindow) {
      outcome.rejections.push(outOfWindow);
      continue;
    }
    if (reading.seq !== undefined && !deps.seqWindow.accept(device.id, reading.seq, seqTimeOf(item.deviceTs, reading.metrics))) {
      outcome.rejections.push(reject('duplicate', `seq ${reading.seq} already received`));
      continue;
    }
    outcome.accepted.push(item);
  }
  if (deps.arrivalTimes) stampArrivals(deps.arrivalTimes, device.id, outcome.accepted);
  // a batch sent newest first is judged oldest first: the rule engine takes a reading older than the last as late
  const { accepted } = outcome;
  for (let i = 1; i < accepted.length; i += 1)
    if ((accepted[i] as NormalisedReading).reading.ts < (accepted[i - 1] as NormalisedReading).reading.ts) {
      accepted.sort((a, b) => a.reading.ts - b.reading.ts);
      break;
    }
  return outcome;
}
