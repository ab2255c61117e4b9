import type { AlarmEvent, EngineChanges, MetricValue, VerdictChange } from '../../../rules/src/index.js';
import type { Rejection } from '../ingest/rejection.js';
import type { ReloadResult } from '../rule-files/rule-reloader.js';
import type { RefusedPoint } from '../sinks/influx/influx-sink.js';
import type { SinkStatus } from '../sinks/sink.js';
import type { LaneSetup } from './build-lane-core.js';
import type { HeldDevice, SiteHandover } from './telemetry-lane.js';

/** What the broker side hands the worker when it starts it. */
export type LaneWorkerData = LaneSetup;

/**
 * One turn of the broker's event loop worth of telemetry: the payloads end to end in `bytes` (transferred,
 * not copied), payload i at `offsets[i]..offsets[i + 1]`.
 */
export interface TelemetryBatch {
  type: 'batch';
  devices: string[];
  receivedAt: Float64Array;
  offsets: Uint32Array;
  bytes: ArrayBuffer;
}

/** Broker side → worker. Messages with an `id` are answered with the same `id`. */
export type ToLane =
  | { type: 'start'; now: number }
  | TelemetryBatch
  | { type: 'tick'; now: number; held?: HeldDevice[] }
  | { type: 'acknowledged'; key: string; at: number }
  | { type: 'ownSites'; sites: string[] | null; now: number; handover: SiteHandover[] }
  | { type: 'alarmEvent'; event: AlarmEvent }
  | { type: 'alarmSpooled'; count: number }
  | { type: 'reload'; id: number; now: number }
  | { type: 'drain'; id: number }
  | { type: 'flush'; id: number }
  /** `collectGarbage`: a full GC of the worker's heap first, when node runs with --expose-gc (benchmarks). */
  | { type: 'metrics'; id: number; collectGarbage?: boolean; names?: string[] }
  | { type: 'close'; id: number };

/** The verdicts of one batch, in its order: readings accepted per payload, and the rejections of those that had any. */
export interface BatchVerdicts {
  type: 'verdicts';
  accepted: Uint32Array;
  rejections: Array<[index: number, rejections: Rejection[]]>;
}

/** Worker → broker side. */
export type FromLane =
  | { type: 'ready' }
  | { type: 'failed'; message: string; code?: string }
  | BatchVerdicts
  | { type: 'engineChanges'; changes: EngineChanges }
  | { type: 'alarmChanges'; changes: VerdictChange[]; upTo: number | undefined }
  | { type: 'refused'; points: RefusedPoint[] }
  | { type: 'readings'; entries: Array<[device: string, ts: number, metrics: Record<string, MetricValue>, at: number]> }
  | { type: 'sinkStatus'; status: SinkStatus | null }
  | { type: 'reloaded'; id: number; result: ReloadResult }
  | { type: 'drained'; id: number }
  | { type: 'flushed'; id: number }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'closed'; id: number };
