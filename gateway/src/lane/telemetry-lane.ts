import type { Profile } from '../../../profiles/index.js';
import type {
  AlarmEvent,
  DeviceHold,
  EngineChanges,
  EngineSnapshot,
  MetricValue,
  Reading,
  RuleEngine,
  VerdictChange,
} from '../../../rules/src/index.js';
import { deviceKey } from '../../../rules/src/index.js';
import type { AlarmInbox } from '../alarms/alarm-inbox.js';
import type { DeviceRegistry, RegisteredDevice } from '../devices/device-registry.js';
import { createFaultLog } from '../ingest/fault-log.js';
import { ingestTelemetry, type TimestampWindow } from '../ingest/ingest-telemetry.js';
import { type Rejection, reject } from '../ingest/rejection.js';
import type { AcceptedSeq, HandedOverSeqs, SeqWindow } from '../ingest/seq-window.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ReloadOutcome, ReloadResult } from '../rule-files/rule-reloader.js';
import type { InfluxSink, RefusedPoint } from '../sinks/influx/influx-sink.js';
import type { SinkStatus } from '../sinks/sink.js';
import type { EngineStateStore } from '../store/engine-state-sqlite.js';
import { createStateSaving, replayJournal, STATE_SAVING } from './state-saving.js';

/** What the lane decided about one telemetry payload: how many readings it accepted, and why it refused the rest. */
export interface LaneVerdict {
  accepted: number;
  rejections: Rejection[];
  /** Set when the lane could not judge at all (its worker died): the PUBLISH must not be acknowledged. */
  unavailable?: true;
}

/** The verdict when the lane cannot judge (its worker died, its store cannot write): no acknowledgement. */
export const UNAVAILABLE: LaneVerdict = { accepted: 0, rejections: [], unavailable: true };

/** A site this node takes over in a cluster, with the rule state its last owner saved in the shared store. */
export interface SiteHandover {
  site: string;
  /** Its devices' and group rules' saved state (empty: the site was never judged, or its state was not kept). */
  snapshot: EngineSnapshot;
  /** How long no node judged it: its timers do not count that time. */
  downMs: number;
  /** What its last owner accepted of each device: the same reading sent again is a duplicate here too. */
  seen?: readonly HandedOverSeqs[];
}

/**
 * Where a device's telemetry goes once the broker knows who sent it: validate → normalise → de-duplicate
 * → rule engine → InfluxDB. Two adapters run the same core: `inline` on the broker's event loop, `worker`
 * in a worker thread (`lane.thread`). Everything that crosses the lane is plain data.
 */
/** A lane that has not answered its heartbeat for this long is not ready (`/readyz`). */
export const LANE_UNANSWERED_MS = 30_000;

export interface TelemetryLane {
  /** Registers every device with the rules (silence starts now); resolves when the lane can take telemetry. */
  start(now: number): Promise<void>;
  /** Judges one payload; `decided` is called exactly once, at once (inline) or a little later (worker). */
  submit(device: RegisteredDevice, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void): void;
  /**
   * How long a publish submitted now would wait for its verdict, ms of real time, estimated: the longer of the wait
   * of the oldest publish without a verdict and the time the lane needs for those in front. 0 when none waits (inline:
   * judged in the next turn, so a lane behind shows as the event loop being late). The broker holds CONNECTs while
   * it is long (broker/admission.ts).
   */
  delay(): number;
  /**
   * How long the lane has not answered the broker side's last heartbeat (ms of real time; 0 inline, where a lane that
   * hangs hangs the HTTP API with it). From LANE_UNANSWERED_MS on `/readyz` says so: a worker stuck in a loop or on a
   * disk that does not return is not dead, so nothing else would.
   */
  unanswered(): number;
  /**
   * Time-driven rules (delays, silence, expectations) due at `now`. `held`: devices whose publishes waited in the
   * lane (hold-watch.ts), judged before this tick: their silence is not counted for that wait.
   */
  tick(now: number, held?: readonly HeldDevice[]): void;
  /**
   * The host's wall clock was stepped by `deltaMs` at `at` (clock-steps.ts): the rules' timers move with it
   * (`RuleEngine.shiftClock`), before the next tick.
   */
  clockStepped(deltaMs: number, at: number): void;
  /** A duty officer acknowledged the alarm of `key`: latched rules let go. */
  acknowledged(key: string, at: number): void;
  /**
   * In a cluster: the sites this node owns (null: every site, a single node). Devices of sites it gained are
   * registered (their silence clocks start at `now`), those of sites it lost are forgotten: their owner judges them.
   * `handover`: the saved state of gained sites, taken over before their devices are registered (their clocks go on).
   * Resolves once the lane judges by it: the alarm changes of everything it judged before have been handed on.
   */
  ownSites(sites: readonly string[] | null, now: number, handover?: readonly SiteHandover[]): Promise<void>;
  /** Re-reads and validates the rule files and swaps them in; a rejected set leaves the old one running. */
  reloadRules(now: number): Promise<ReloadResult>;
  /** Alarm events are stored with the telemetry, ahead of it. */
  writeAlarmEvent(event: AlarmEvent): void;
  /** With the store: the broker side put `count` alarm-event points in the spool itself; the sink writes them. */
  alarmEventsSpooled(count: number): void;
  /** Resolves once everything submitted so far is evaluated, its alarm changes applied and InfluxDB written. */
  drain(): Promise<void>;
  /** The InfluxDB sink's readiness, or null when telemetry is not stored. */
  sinkStatus(): SinkStatus | null;
  /**
   * The Prometheus metrics the lane keeps in a registry of its own (a worker's), as prom-client JSON; [] inline.
   * `collectGarbage`: a full GC of the worker's heap first, only where node runs with --expose-gc (the bench's
   * memory readings); otherwise nothing. `names`: only these metrics (a poll of two counters, not the whole registry).
   */
  workerMetrics(options?: { collectGarbage?: boolean; names?: readonly string[] }): Promise<unknown[]>;
  close(): Promise<void>;
}

/** What the lane's core reports back to the broker side. */
export interface LaneOutlet {
  /** Verdict changes, once committed; `upTo`: their last id in the alarm inbox (with a store). */
  alarmChanges(changes: readonly VerdictChange[], upTo?: number): void;
  readingStored(device: string, ts: number, metrics: Record<string, MetricValue>, at: number): void;
  /** Points InfluxDB refused as invalid (for the quarantine). */
  pointsRefused?(points: RefusedPoint[]): void;
  /**
   * In a cluster: the rule state each commit changed, before its alarm changes (serialise it at once: it shares the
   * engine's objects), and the `seq` of the readings it judged. The shared store keeps them so that another node can
   * take the sites over, and knows which readings were judged already.
   */
  engineChanged?(changes: EngineChanges, accepted: readonly AcceptedSeq[]): void;
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
  /**
   * Runs `judge`, then `record`, as one commit of the local store: the writes `judge` makes through the store's
   * ports are collected and run with `record`'s in the commit (the write lock is held for the writes alone).
   * Without a store, both at once. Throws when the store cannot write.
   */
  commit: LaneCommit;
  /** Where the engine's state is saved in each commit (with a store), and found again at start. */
  engineState?: EngineStateStore | undefined;
  /** The clock a deferred save's lag is timed on (default monotonic: `performance.now`); tests give simulated time. */
  lagClock?: (() => number) | undefined;
  /** Where verdict changes wait for the alarm book, put in the commit that decided them (with a store). */
  inbox?: AlarmInbox | undefined;
  /** In a cluster: the lane owns no site until told (`ownSites`), and nothing is restored from the local store. */
  clustered?: boolean;
  /** Reloads the rule files into `engine`, returning the result and the alarm changes it caused. */
  reloadRules(now: number): ReloadOutcome;
  outlet: LaneOutlet;
  metrics: GatewayMetrics;
  log: Logger;
}

/** One commit of the lane (`LaneCoreDeps.commit`), which may be left waiting for the next. */
export interface LaneCommit {
  /**
   * `mayWait`, asked once `judge` has run: true leaves the commit waiting, its writes kept, in order, for the next
   * commit or `flush` (`record` is then not run: only a commit with nothing to record may wait).
   */
  <T>(judge: () => T, record: () => void, mayWait?: () => boolean): T;
  /** Runs the commit left waiting, if one is. */
  flush(): void;
  /** A commit is waiting: what it judged is not in the store yet. */
  waiting(): boolean;
}

/** `LaneCoreDeps.commit` without a store: judge, then record; nothing to wait for. */
export const commitWithoutStore: LaneCommit = Object.assign(
  <T>(judge: () => T, record: () => void): T => {
    const result = judge();
    record();
    return result;
  },
  { flush: () => undefined, waiting: () => false },
);

/** Publishes of a device that waited in the lane: the oldest arrived at `since`, the last was judged by `until`. */
export interface HeldDevice {
  device: string;
  since: number;
  until: number;
  /** Its CONNECT was held (admission), not its publishes (DeviceHold.connecting). */
  connecting?: boolean;
}

/** One payload to judge. */
export interface LaneItem {
  device: RegisteredDevice;
  payload: Buffer;
  receivedAt: number;
}

/**
 * The work of a lane, wherever it runs: synchronous, no I/O but the store's and the sink's. Every step is one
 * commit of the local store: the readings it accepted (spooled, their sequence numbers seen), the rule engine's
 * state they moved and the verdict changes they caused are durable together before anything is answered;
 * the changes go to the alarm book after the commit. A throw means the store could not write: nothing may be
 * acknowledged.
 */
export interface LaneCore {
  /** Restores the engine's saved state (the time spent down does not count), then registers every device. */
  start(now: number): void;
  /**
   * Judges payloads, in order, in one commit (group commit); one verdict per payload. `mayWait`: when they changed no
   * verdict, their commit may wait for the next (`commitWaiting`), so that a steady trickle of readings is not a commit
   * each; their verdicts must then wait too (nothing is durable before its commit).
   */
  judgeBatch(items: readonly LaneItem[], mayWait?: boolean): LaneVerdict[];
  /** A commit of readings is waiting (`judgeBatch` with `mayWait`): any other step, or `flushCommit`, runs it. */
  commitWaiting(): boolean;
  flushCommit(): void;
  /** One payload, as a batch of one. */
  judge(device: RegisteredDevice, payload: Buffer, receivedAt: number): LaneVerdict;
  tick(now: number, held?: readonly HeldDevice[]): void;
  clockStepped(deltaMs: number, at: number): void;
  acknowledged(key: string, at: number): void;
  ownSites(sites: readonly string[] | null, now: number, handover?: readonly SiteHandover[]): void;
  reloadRules(now: number): ReloadResult;
  /**
   * Saves every device's rule state still saved only as journaled readings (a clean stop: the next start replays
   * nothing), as of the last commit.
   */
  checkpoint(): void;
}

/** What a step saves of the rule state: after readings (journaled), after anything else, or everything. */
type Saving = { readings: Reading[] } | { held?: readonly DeviceHold[] } | { all: true; also?: Iterable<string> };
const OTHER: Saving = {};
/** `takeChanged`'s choice when no state is kept: every moved device left out (named, not serialised). */
const UNSAVED = (): boolean => true;

export function createLaneCore(deps: LaneCoreDeps): LaneCore {
  const { engine } = deps;
  const ingestDeps = {
    maxPayloadBytes: deps.maxPayloadBytes,
    seqWindow: deps.seqWindow,
    timestamps: deps.timestamps,
    arrivalTimes: new Map<string, number>(),
  };
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

  /** When each device's rule state is saved (with a local store and not in a cluster). */
  const saving = deps.engineState ? createStateSaving(engine, deps.engineState, STATE_SAVING, deps.lagClock) : null;
  const saveMoved = (how: Saving, changes: readonly VerdictChange[], at: number): EngineChanges => {
    // Nothing saves it and no replica is sent it: the devices' states are not serialised (a third of the lane's CPU
    // per payload with the store off, in commits of one reading a device).
    if (!saving) return deps.outlet.engineChanged ? engine.takeChanged() : engine.takeChanged(UNSAVED);
    if ('all' in how) return saving.saveAll(at, how.also);
    if ('readings' in how) return saving.afterReadings(how.readings, changes, at);
    return saving.afterOther(at, how.held);
  };

  /** The time of the last step (a checkpoint is one more commit at that time: `alive_at` does not move). */
  let lastAt: number | null = null;
  /** In a cluster: the `seq` of the readings the step judged (of sites this node owns), for the shared store. */
  let acceptedSeqs: AcceptedSeq[] = [];
  const sharesSeqs = deps.outlet.engineChanged !== undefined;
  /** Runs `work` in one commit with the engine state and verdict changes it produced; hands the changes on after. */
  const step = <T>(at: number, work: (changes: VerdictChange[]) => T, how: Saving = OTHER, mayWait = false): T => {
    lastAt = at;
    const changes: VerdictChange[] = [];
    let upTo: number | undefined;
    let moved = undefined as EngineChanges | undefined;
    acceptedSeqs = [];
    /** The rule state the commit moved, when a cluster's replica is to be sent it. */
    const forReplica = (): EngineChanges | null => {
      if (!deps.outlet.engineChanged) return null;
      if (moved && (moved.devices.length > 0 || moved.sites.length > 0)) return moved;
      return acceptedSeqs.length > 0 ? { devices: [], sites: [] } : null;
    };
    const result = deps.commit(
      () => {
        const out = work(changes);
        moved = saveMoved(how, changes, at);
        return out;
      },
      () => {
        if (changes.length > 0 && deps.inbox) upTo = deps.inbox.put(changes);
      },
      // nothing to hand on after it: no verdict changed, no rule state for a cluster's replica
      () => mayWait && changes.length === 0 && forReplica() === null,
    );
    const replica = forReplica();
    if (replica) deps.outlet.engineChanged?.(replica, acceptedSeqs);
    if (changes.length > 0) deps.outlet.alarmChanges(changes, upTo);
    return result;
  };

  /** Evaluates accepted readings; those the engine took go to `taken` (the rule state's journal). */
  const evaluate = (readings: readonly Reading[], changes: VerdictChange[], taken: Reading[]): void => {
    for (const reading of readings) {
      try {
        deps.outlet.readingStored(reading.device, reading.ts, reading.metrics, reading.receivedAt ?? reading.ts);
        const device = deps.registry.get(reading.device);
        if (!device || (owned !== null && !owned.has(device.site))) continue;
        taken.push(reading);
        const outcome = engine.onReading(reading, device.context);
        if (outcome.late) deps.metrics.readingsLate.inc();
        // the alarm book times the alarm's decision from the reading's arrival (gateway_alarm_decision_seconds)
        const receivedAt = reading.receivedAt;
        for (const change of outcome.changes) changes.push(receivedAt === undefined ? change : { ...change, receivedAt });
      } catch (error) {
        // the reading is stored; a rule that fails on it is logged and the others go on
        deps.log.error({ err: error, device: reading.device }, 'reading evaluation failed');
      }
    }
  };

  const judge = (item: LaneItem, changes: VerdictChange[], taken: Reading[]): LaneVerdict => {
    const { device, payload, receivedAt } = item;
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
      const readings = outcome.accepted.map((accepted) => accepted.reading);
      if (deps.sink) for (const reading of readings) deps.sink.writeTelemetry(reading);
      evaluate(readings, changes, taken);
      if (sharesSeqs && owned?.has(device.site))
        // with a device time only: a clockless device's codes (seqTimeOf) spread over all negative numbers, and a run of
        // them would cover any reading of its numbers (after a reboot, every one)
        for (const { reading, deviceTs } of outcome.accepted)
          if (reading.seq !== undefined && deviceTs !== null) acceptedSeqs.push([device.id, device.site, reading.seq, deviceTs]);
    }
    return { accepted: outcome.accepted.length, rejections: outcome.rejections };
  };

  /** The engine's devices of the holds (a device no longer registered is left out). */
  const heldDevices = (held: readonly HeldDevice[]): DeviceHold[] =>
    held.flatMap((hold) => {
      const device = deps.registry.get(hold.device)?.context;
      if (!device) return [];
      const engineHold: DeviceHold = { site: device.site, device: device.device, since: hold.since, until: hold.until };
      if (hold.connecting) engineHold.connecting = true;
      return [engineHold];
    });

  /** The sites this node judges (null: all); readings of others do not reach the engine. */
  let owned: Set<string> | null = deps.clustered ? new Set() : null;
  const ownedDevices = () => [...deps.registry.all()].filter((device) => owned === null || owned.has(device.site));

  const tick = (now: number, held: readonly DeviceHold[] | undefined, changes: VerdictChange[]): void => {
    try {
      if (held) engine.held(held);
      for (const change of engine.tick(now)) changes.push(change);
    } catch (error) {
      deps.log.error({ err: error }, 'rule tick failed');
    }
  };

  /** Retires the engine's devices the registry no longer has where the engine has them (site/device). */
  const retireUnregistered = (now: number, changes: VerdictChange[]): void => {
    const registered = new Set([...deps.registry.all()].map(({ context }) => deviceKey(context.site, context.device)));
    for (const change of engine.retireDevices((key) => registered.has(key), now)) changes.push(change);
  };

  return {
    start(now) {
      const replayed = new Set<string>();
      step(
        now,
        (changes) => {
          const saved = deps.engineState?.load();
          if (saved) {
            const downMs = Math.max(0, now - saved.aliveAt);
            if (saved.journal.length === 0) for (const change of engine.restore(saved.snapshot, now, downMs)) changes.push(change);
            else {
              // as it was at the stop: the saved states, then what the journal holds after each; then the time down
              for (const change of engine.restore(saved.snapshot, saved.aliveAt, 0)) changes.push(change);
              const replay = replayJournal(
                engine,
                saved,
                (id) => deps.registry.get(id)?.context,
                (error, reading) => deps.log.error({ err: error, device: reading.device }, 'reading evaluation failed'),
              );
              for (const change of replay.changes) changes.push(change);
              for (const key of replay.devices) replayed.add(key);
              for (const change of engine.restore(engine.snapshot(), now, downMs)) changes.push(change);
              deps.log.info({ readings: replay.readings, devices: replay.devices.size }, 'rule state replayed from the journal');
            }
            deps.log.info({ devices: saved.snapshot.devices.length, downMs }, 'rule state restored');
          }
          // a device taken out of the registry (or moved to another site) since: its alarms clear, its state goes
          retireUnregistered(now, changes);
          const contexts = ownedDevices().map((device) => device.context);
          for (const change of engine.registerDevices(contexts, now)) changes.push(change);
        },
        { all: true, also: replayed },
      );
    },
    ownSites(sites, now, handover = []) {
      const before = owned;
      owned = sites === null ? null : new Set(sites);
      const all = new Set([...deps.registry.all()].map((device) => device.site));
      const had = (site: string) => before === null || before.has(site);
      const has = (site: string) => owned === null || owned.has(site);
      const lost = [...all].filter((site) => had(site) && !has(site));
      const gained = [...deps.registry.all()].filter((device) => !had(device.site) && has(device.site));
      if (lost.length === 0 && gained.length === 0 && handover.length === 0) return;
      step(now, (changes) => {
        // what the last owners judged: the same readings sent again (their PUBACK lost with the owner) are duplicates
        for (const taken of handover) for (const [device, runs] of taken.seen ?? []) deps.seqWindow.adopt(device, runs);
        engine.forgetSites(lost);
        for (const taken of handover) for (const change of engine.adoptSites(taken.snapshot, now, taken.downMs)) changes.push(change);
        // a taken site's saved state may hold a device since taken out of the registry: retired as at a start
        if (handover.length > 0) retireUnregistered(now, changes);
        for (const change of engine.registerDevices(
          gained.map((device) => device.context),
          now,
        ))
          changes.push(change);
      });
      deps.log.info({ sitesLost: lost.length, devicesGained: gained.length, sitesTakenOver: handover.length }, 'owned sites changed');
    },
    judgeBatch(items, mayWait = false) {
      // nothing to judge (a worker's batches of devices it does not know): no commit, and no `alive_at` of 0
      if (items.length === 0) return [];
      const at = (items[items.length - 1] as LaneItem).receivedAt;
      const taken: Reading[] = [];
      return step(at, (changes) => items.map((item) => judge(item, changes, taken)), { readings: taken }, mayWait);
    },
    commitWaiting: () => deps.commit.waiting(),
    flushCommit: () => deps.commit.flush(),
    judge(device, payload, receivedAt) {
      const taken: Reading[] = [];
      return step(receivedAt, (changes) => judge({ device, payload, receivedAt }, changes, taken), { readings: taken });
    },
    tick(now, held) {
      const holds = held ? heldDevices(held) : undefined;
      step(now, (changes) => tick(now, holds, changes), holds ? { held: holds } : OTHER);
    },
    clockStepped(deltaMs, at) {
      step(at, () => engine.shiftClock(deltaMs));
    },
    acknowledged(key, at) {
      step(at, (changes) => {
        for (const change of engine.acknowledge(key, at)) changes.push(change);
      });
    },
    reloadRules(now) {
      // the journal never spans a reload: its readings are replayed under the rules of the files read at start
      return step(
        now,
        (changes) => {
          const { result, changes: caused } = deps.reloadRules(now);
          for (const change of caused) changes.push(change);
          return result;
        },
        { all: true },
      );
    },
    checkpoint() {
      if (saving && lastAt !== null) step(lastAt, () => undefined, { all: true });
    },
  };
}
