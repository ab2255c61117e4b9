import { PROFILES } from '../../../profiles/index.js';
import type { RuleSet } from '../../../rules/src/index.js';
import type { DeviceConfig, GatewayConfig } from '../config/config-schema.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import { timestampWindowOf } from '../ingest/ingest-telemetry.js';
import { createSeqWindow } from '../ingest/seq-window.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { loadRuleSetOrThrow } from '../rule-files/load-rule-files.js';
import { createProfileRuleEngine } from '../rule-files/profile-engine.js';
import { createRuleReloader } from '../rule-files/rule-reloader.js';
import type { InfluxSink } from '../sinks/influx/influx-sink.js';
import { startInfluxSink } from '../sinks/influx/influx-target.js';
import { createSqliteAlarmInbox } from '../store/alarm-inbox-sqlite.js';
import { createSqliteEngineState } from '../store/engine-state-sqlite.js';
import { openStore, type StoreDatabase, storeRoom } from '../store/open-store.js';
import { createSqliteSeqMemory } from '../store/seq-memory.js';
import { createSpoolQueue } from '../store/spool-queue.js';
import { createWriteBuffer, type WriteBuffer } from '../store/write-buffer.js';
import { laneCommit, type WriterGate } from '../store/writer-gate.js';
import { commitWithoutStore, createLaneCore, type LaneCommit, type LaneCore, type LaneOutlet } from './telemetry-lane.js';

/** A device as the lane knows it: no secret (the broker side authenticates). */
export type LaneDevice = Omit<DeviceConfig, 'secretHash'>;

/**
 * What the lane needs of the configuration — and all a worker thread is given: no API tokens, no webhook secrets,
 * no device secrets (the InfluxDB credentials it does need, it writes there).
 */
export interface LaneConfig {
  dataDir: string;
  logLevel: GatewayConfig['logLevel'];
  rules: GatewayConfig['rules'];
  store: GatewayConfig['store'];
  influx: GatewayConfig['influx'];
  ingest: GatewayConfig['ingest'];
  maxPayloadBytes: number;
  devices: LaneDevice[];
  /**
   * A node of a cluster: rule state and alarm changes go to the shared store (through the broker side), not to the
   * local one, and the lane judges only the sites it is given.
   */
  clustered: boolean;
}

export function laneConfigOf(config: GatewayConfig): LaneConfig {
  return {
    dataDir: config.dataDir,
    logLevel: config.logLevel,
    rules: config.rules,
    store: config.store,
    influx: config.influx,
    ingest: config.ingest,
    maxPayloadBytes: config.mqtt.maxPayloadBytes,
    devices: config.devices.map(({ secretHash: _, ...device }) => device),
    clustered: config.cluster !== undefined,
  };
}

export interface LaneSetup {
  config: LaneConfig;
  /** The InfluxDB to write to, already resolved by the broker side (null: telemetry is not stored). */
  influxUrl: string | null;
  /** The broker side writes the same store from another thread: each commit here waits for its writes first. */
  writerGate?: WriterGate;
  /** How long a worker's commit of quiet readings may wait for the next (worker-thread.ts; default 10 ms). */
  commitWaitMs?: number;
}

/**
 * One commit of the lane: judge with the store's writes collected, then run them and `record`'s in one transaction
 * — after the broker side's waiting writes, when it writes the store from another thread (writer-gate.ts). A commit
 * left waiting keeps its writes in the buffer, in order: the next commit, or `flush`, runs them with its own.
 */
export const committer = (store: StoreDatabase, later: WriteBuffer, gate: WriterGate | undefined): LaneCommit => {
  /** The commit's own record step; the transaction is made once (better-sqlite3 builds a wrapper per call). */
  let recordNow: () => void = () => undefined;
  const write = store.transaction(() => {
    later.apply();
    recordNow();
  });
  let waiting = false;
  /** Runs `attempt`; if it throws, what was collected (and kept) is forgotten and nothing waits any more. */
  const orForget = <T>(attempt: () => T): T => {
    try {
      return attempt();
    } catch (error) {
      later.clear();
      waiting = false;
      throw error;
    }
  };
  const run = (record: () => void): void => {
    recordNow = record;
    if (gate) laneCommit(gate, write);
    else write();
    waiting = false;
  };
  const commit = <T>(judge: () => T, record: () => void, mayWait?: () => boolean): T =>
    orForget(() => {
      const result = later.collecting(judge);
      if (mayWait?.()) {
        later.keep();
        waiting = true;
      } else run(record);
      return result;
    });
  return Object.assign(commit, {
    flush(): void {
      if (waiting) orForget(() => run(() => undefined));
    },
    waiting: () => waiting,
  });
};

/**
 * A lane's core and its InfluxDB sink, built from the configuration alone (so a worker thread can build it
 * too). `rules`: the rule set already loaded on this thread, if any; otherwise the rule files are read here.
 */
export async function buildLaneCore(
  setup: LaneSetup,
  registry: DeviceRegistry,
  outlet: LaneOutlet,
  metrics: GatewayMetrics,
  log: Logger,
  rules?: RuleSet,
): Promise<{ core: LaneCore; sink: InfluxSink | null; store: StoreDatabase | null }> {
  const { config } = setup;
  const engine = createProfileRuleEngine(PROFILES, rules ?? loadRuleSetOrThrow(PROFILES, config.rules));
  // This thread's connection to the local store: the spool and the de-duplication window live here.
  const store = config.store.enabled
    ? openStore({ dataDir: config.dataDir, synchronous: config.store.synchronous, maxBytes: config.store.maxBytes })
    : null;
  // The lane's writes to the store, collected while it judges and run together in its commit.
  const later = createWriteBuffer();
  const queue = store
    ? createSpoolQueue(
        store,
        {
          maxPoints: config.store.spool.maxPoints,
          maxAgeMs: config.store.spool.maxAge,
          batchSize: config.influx.batchSize,
          room: storeRoom(store, config.store),
        },
        Date.now,
        later,
      )
    : undefined;
  const sink = await startInfluxSink(config.influx, setup.influxUrl, metrics, log, queue, (points) => outlet.pointsRefused?.(points));
  const core = createLaneCore({
    registry,
    profiles: PROFILES,
    engine,
    seqWindow: createSeqWindow(store ? createSqliteSeqMemory(store, later) : undefined),
    commit: store ? committer(store, later, setup.writerGate) : commitWithoutStore,
    // In a cluster the shared store keeps both (the broker side writes them there before any acknowledgement).
    engineState: store && !config.clustered ? createSqliteEngineState(store, later) : undefined,
    inbox: store && !config.clustered ? createSqliteAlarmInbox(store) : undefined,
    clustered: config.clustered,
    maxPayloadBytes: config.maxPayloadBytes,
    timestamps: timestampWindowOf(config.ingest, config.influx),
    sink,
    reloadRules: createRuleReloader({ profiles: PROFILES, extraFiles: config.rules, engine, log: log.child({ component: 'rules' }) }),
    outlet,
    metrics,
    log: log.child({ component: 'lane' }),
  });
  return { core, sink, store };
}
