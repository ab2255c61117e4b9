import type { Profile } from '../../../profiles/index.js';
import type { AlarmEvent, MetricValue, RuleEngine, VerdictChange } from '../../../rules/src/index.js';
import type { DeviceRegistry, RegisteredDevice } from '../devices/device-registry.js';
import type { ReadinessCheck } from '../http/routes/health-routes.js';
import { createFaultLog } from '../ingest/fault-log.js';
import { ingestTelemetry, type TimestampWindow } from '../ingest/ingest-telemetry.js';
import { type Rejection, reject } from '../ingest/rejection.js';
import type { SeqWindow } from '../ingest/seq-window.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ReloadOutcome, ReloadResult } from '../rule-files/rule-reloader.js';
import type { InfluxSink } from '../sinks/influx/influx-sink.js';
import { createReadingPipeline, type ReadingPipeline } from './reading-pipeline.js';

/** What the lane decided about one telemetry payload: how many readings it accepted, and why it refused the rest. */
export interface LaneVerdict {
  accepted: number;
  rejections: Rejection[];
  /** Set when the lane could not judge at all (its worker died): the PUBLISH must not be acknowledged. */
  unavailable?: true;
}

/** The verdict when the lane cannot judge (its worker died, its store cannot write): no acknowledgement. */
export const UNAVAILABLE: LaneVerdict = { accepted: 0, rejections: [], unavailable: true };

/**
 * Where a device's telemetry goes once the broker knows who sent it: validate → normalise → de-duplicate
 * → rule engine → InfluxDB. Two adapters run the same core: `inline` on the broker's event loop, `worker`
 * in a worker thread (`pipeline.thread`). Everything that crosses the lane is plain data.
 */
export interface TelemetryLane {
  /** Registers every device with the rules (silence starts now); resolves when the lane can take telemetry. */
  start(now: number): Promise<void>;
  /** Judges one payload; `decided` is called exactly once, at once (inline) or a little later (worker). */
  submit(device: RegisteredDevice, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void): void;
  /** Time-driven rules (delays, silence, expectations) due at `now`. */
  tick(now: number): void;
  /** A duty officer acknowledged the alarm of `key`: latched rules let go. */
  acknowledged(key: string, at: number): void;
  /** Re-reads and validates the rule files and swaps them in; a rejected set leaves the old one running. */
  reloadRules(now: number): Promise<ReloadResult>;
  /** Alarm events are stored with the telemetry, ahead of it. */
  writeAlarmEvent(event: AlarmEvent): void;
  /** Resolves once everything submitted so far is evaluated, its alarm changes applied and InfluxDB written. */
  drain(): Promise<void>;
  /** The InfluxDB sink's readiness, or null when telemetry is not stored. */
  sinkStatus(): ReadinessCheck | null;
  /** The Prometheus metrics the lane keeps in a registry of its own (a worker's), as prom-client JSON; [] inline. */
  workerMetrics(): Promise<unknown[]>;
  close(): Promise<void>;
}

/** What the lane's core reports back to the broker side. */
export interface LaneOutlet {
  alarmChanges(changes: readonly VerdictChange[]): void;
  readingStored(device: string, ts: number, metrics: Record<string, MetricValue>, at: number): void;
}

export interface LaneCoreDeps {
  registry: DeviceRegistry;
  profiles: ReadonlyMap<string, Profile>;
  engine: RuleEngine;
  seqWindow: SeqWindow;
  maxPayloadBytes: number;
  timestamps: TimestampWindow;
  /** InfluxDB: accepted readings are handed to it while being judged, so that they are spooled before the verdict. */
  sink: InfluxSink | null;
  /** Runs work as one commit of the local store (identity without one); throws when the store cannot write. */
  commit<T>(work: () => T): T;
  /** Reloads the rule files into `engine`, returning the result and the alarm changes it caused. */
  reloadRules(now: number): ReloadOutcome;
  outlet: LaneOutlet;
  metrics: GatewayMetrics;
  log: Logger;
}

/** The work of a lane, wherever it runs: synchronous, no I/O but the sink's own. */
export interface LaneCore {
  start(now: number): void;
  judge(device: RegisteredDevice, payload: Buffer, receivedAt: number): LaneVerdict;
  /**
   * Judges inside one commit of the local store: what `work` accepted (spooled readings, sequence numbers
   * seen) is durable when it returns. A throw means the store could not write: nothing may be acknowledged.
   */
  commit<T>(work: () => T): T;
  tick(now: number): void;
  acknowledged(key: string, at: number): void;
  reloadRules(now: number): ReloadResult;
  readonly pipeline: ReadingPipeline;
}

export function createLaneCore(deps: LaneCoreDeps): LaneCore {
  const pipeline = createReadingPipeline({
    engine: deps.engine,
    registry: deps.registry,
    alarmChanges: (changes) => deps.outlet.alarmChanges(changes),
    readingStored: (device, ts, metrics, at) => deps.outlet.readingStored(device, ts, metrics, at),
    metrics: deps.metrics,
    log: deps.log,
  });
  const ingestDeps = { maxPayloadBytes: deps.maxPayloadBytes, seqWindow: deps.seqWindow, timestamps: deps.timestamps };
  const fault = createFaultLog(deps.log);
  // The accepted counter's child per profile, bound once: this runs for every payload.
  const acceptedByProfile = new Map<string, ReturnType<GatewayMetrics['readingsAccepted']['labels']>>();
  const acceptedOf = (profile: string) => {
    let child = acceptedByProfile.get(profile);
    if (!child) {
      child = deps.metrics.readingsAccepted.labels({ profile });
      acceptedByProfile.set(profile, child);
    }
    return child;
  };
  const apply = (changes: readonly VerdictChange[]): void => {
    if (changes.length > 0) deps.outlet.alarmChanges(changes);
  };

  return {
    pipeline,
    start(now) {
      apply(
        deps.engine.registerDevices(
          [...deps.registry.all()].map((device) => device.context),
          now,
        ),
      );
    },
    judge(device, payload, receivedAt) {
      const profile = deps.profiles.get(device.profile);
      if (!profile) {
        const detail = `device ${device.id} has profile ${device.profile}, which this gateway does not know`;
        return { accepted: 0, rejections: [reject('unknown_device', detail)] };
      }
      let outcome: ReturnType<typeof ingestTelemetry>;
      try {
        outcome = ingestTelemetry(ingestDeps, device, profile, payload, receivedAt);
      } catch (error) {
        // A fault while judging one payload is that payload's rejection: it is answered, kept and counted,
        // and nothing else stops (a device resending it after a reconnect gets the same answer).
        return { accepted: 0, rejections: [fault.rejection(error, device.id)] };
      }
      if (outcome.accepted.length > 0) {
        acceptedOf(device.profile).inc(outcome.accepted.length);
        const readings = outcome.accepted.map((item) => item.reading);
        if (deps.sink) for (const reading of readings) deps.sink.writeTelemetry(reading);
        pipeline.enqueue(readings);
      }
      return { accepted: outcome.accepted.length, rejections: outcome.rejections };
    },
    commit: (work) => deps.commit(work),
    tick: (now) => pipeline.tick(now),
    acknowledged: (key, at) => apply(deps.engine.acknowledge(key, at)),
    reloadRules(now) {
      const { result, changes } = deps.reloadRules(now);
      apply(changes);
      return result;
    },
  };
}
