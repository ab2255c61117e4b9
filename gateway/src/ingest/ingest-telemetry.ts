import type { Profile } from '../../../profiles/index.js';
import { formatPath } from '../config/problems.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { decodeJson } from './decode.js';
import { type NormalisedReading, normalisePayload } from './normalise.js';
import { type Rejection, reject } from './rejection.js';
import type { SeqWindow } from './seq-window.js';
import { parseTelemetryPayload } from './telemetry-schema.js';

/** Contract/domain: device times more than 5 minutes ahead of the gateway are refused. */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

export interface IngestOutcome {
  accepted: NormalisedReading[];
  /** Payload-level rejection, or one per refused reading (duplicates, future times). */
  rejections: Rejection[];
}

export interface TelemetryIngestDeps {
  maxPayloadBytes: number;
  seqWindow: SeqWindow;
}

/** decode → validate the shape → validate and convert against the profile → drop future times and duplicates. */
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
  const shaped = parseTelemetryPayload(decoded.value);
  if (!shaped.success) {
    const detail = shaped.error.issues
      .slice(0, 5)
      .map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`)
      .join('; ');
    return refused(reject('schema', detail));
  }
  const normalised = normalisePayload(shaped.data, device, profile, receivedAt);
  if (!Array.isArray(normalised)) return refused(normalised);

  const outcome: IngestOutcome = { accepted: [], rejections: [] };
  for (const item of normalised) {
    const { reading } = item;
    if (reading.ts > receivedAt + MAX_CLOCK_AHEAD_MS) {
      outcome.rejections.push(
        reject(
          'future_timestamp',
          `seq ${reading.seq ?? '-'}: ${new Date(reading.ts).toISOString()} is ${Math.round((reading.ts - receivedAt) / 1000)} s ahead of the gateway`,
        ),
      );
      continue;
    }
    if (reading.seq !== undefined && !deps.seqWindow.accept(device.id, reading.seq, item.deviceTs)) {
      outcome.rejections.push(reject('duplicate', `seq ${reading.seq} already received`));
      continue;
    }
    outcome.accepted.push(item);
  }
  return outcome;
}
