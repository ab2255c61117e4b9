import type { AlarmEvent, EngineChanges, MetricValue, VerdictChange } from '../../../rules/src/index.js';
import type { Rejection } from '../ingest/rejection.js';
import type { AcceptedSeq } from '../ingest/seq-window.js';
import type { ReloadResult } from '../rule-files/rule-reloader.js';
import type { RefusedPoint } from '../sinks/influx/influx-sink.js';
import type { SinkStatus } from '../sinks/sink.js';
import type { LaneSetup } from './build-lane-core.js';
import type { HeldDevice, SiteHandover } from './telemetry-lane.js';

/** What the broker side hands the worker when it starts it. */
export type LaneWorkerData = LaneSetup;

/**
 * One turn of the broker's event loop worth of telemetry: the payloads end to end in `bytes` (transferred,
 * not copied), payload i at `offsets[i]..offsets[i + 1]`. The numbers as plain arrays: a typed array costs the
 * structured clone more than the array it replaces (4–5 µs a message of one payload, the paced load's usual batch).
 */
export interface TelemetryBatch {
  type: 'batch';
  devices: string[];
  receivedAt: number[];
  offsets: number[];
  bytes: ArrayBuffer;
}

/** Broker side → worker. Messages with an `id` are answered with the same `id`. */
export type ToLane =
  | { type: 'start'; now: number }
  | TelemetryBatch
  | { type: 'tick'; now: number; held?: HeldDevice[] }
  | { type: 'clockStepped'; deltaMs: number; at: number }
  | { type: 'acknowledged'; key: string; at: number }
  | { type: 'ownSites'; id: number; sites: string[] | null; now: number; handover: SiteHandover[] }
  | { type: 'alarmEvent'; event: AlarmEvent }
  | { type: 'alarmSpooled'; count: number }
  | { type: 'reload'; id: number; now: number }
  | { type: 'drain'; id: number }
  | { type: 'flush'; id: number }
  /** `collectGarbage`: a full GC of the worker's heap first, when node runs with --expose-gc (benchmarks). */
  | { type: 'metrics'; id: number; collectGarbage?: boolean; names?: string[] }
  /** Whether the worker answers at all (a heartbeat): `pong`. */
  | { type: 'ping' }
  | { type: 'close'; id: number };

/**
 * The verdicts of the oldest `batches` batches not yet answered, as one message: readings accepted per payload, the
 * batches' payloads one after another, and the rejections of those that had any (by index into `accepted`, in
 * order). One message for all the batches of a commit: each was a message of its own, and the PUBACKs of each went
 * out in a write of their own.
 */
export interface LaneVerdicts {
  type: 'verdicts';
  batches: number;
  accepted: number[];
  rejections: Array<[index: number, rejections: Rejection[]]>;
}

/** The verdicts of consecutive batches as one message (`parts` in the order of their batches). */
export function joinVerdicts(parts: readonly LaneVerdicts[]): LaneVerdicts {
  if (parts.length === 1) return parts[0] as LaneVerdicts;
  const joined: LaneVerdicts = { type: 'verdicts', batches: 0, accepted: [], rejections: [] };
  let offset = 0;
  for (const part of parts) {
    joined.batches += part.batches;
    for (const accepted of part.accepted) joined.accepted.push(accepted);
    for (const [index, rejections] of part.rejections) joined.rejections.push([offset + index, rejections]);
    offset += part.accepted.length;
  }
  return joined;
}

/** Worker → broker side. */
export type FromLane =
  | { type: 'ready' }
  | { type: 'failed'; message: string; code?: string }
  | LaneVerdicts
  | { type: 'engineChanges'; changes: EngineChanges; accepted: readonly AcceptedSeq[] }
  | { type: 'alarmChanges'; changes: VerdictChange[]; upTo: number | undefined }
  | { type: 'refused'; points: RefusedPoint[] }
  | { type: 'readings'; entries: Array<[device: string, ts: number, metrics: Record<string, MetricValue>, at: number]> }
  | { type: 'sinkStatus'; status: SinkStatus | null }
  | { type: 'reloaded'; id: number; result: ReloadResult }
  | { type: 'drained'; id: number }
  | { type: 'flushed'; id: number }
  /** `ownSites` applied: the alarm changes of what was judged before it were sent ahead of this. */
  | { type: 'owned'; id: number }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'pong' }
  | { type: 'closed'; id: number };
