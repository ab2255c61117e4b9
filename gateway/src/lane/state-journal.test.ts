import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PROFILES } from '../../../profiles/index.js';
import type { EngineSnapshot, RuleEngine, VerdictChange } from '../../../rules/src/index.js';

import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { createSeqWindow } from '../ingest/seq-window.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { loadRuleSetOrThrow } from '../rule-files/load-rule-files.js';
import { createProfileRuleEngine } from '../rule-files/profile-engine.js';
import { createSqliteAlarmInbox } from '../store/alarm-inbox-sqlite.js';
import { createSqliteEngineState } from '../store/engine-state-sqlite.js';
import { openStore, STORE_FILE, type StoreDatabase } from '../store/open-store.js';
import { createSqliteSeqMemory } from '../store/seq-memory.js';
import { createWriteBuffer } from '../store/write-buffer.js';
import { committer } from './build-lane-core.js';
import { STATE_SAVING } from './state-saving.js';
import { createLaneCore, type LaneCore } from './telemetry-lane.js';

const config = validateConfig(
  {
    influx: { mode: 'off' },
    devices: [
      { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' },
      { id: 'dc-02', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' },
      { id: 'dc-03', site: 'site-b', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' },
      // the site's main meter: the faked-offline group rules read it (`while`), so its readings are saved at once
      {
        id: 'pm-01',
        site: 'site-a',
        profile: 'power',
        secretHash: 'sha256$c2FsdA==$aGFzaA==',
        attributes: { meter_role: 'main', p_prod_kw: 100 },
      },
    ],
  },
  '(test)',
);
const registry = createDeviceRegistry(config.devices);
const devices = ['dc-01', 'dc-02', 'dc-03', 'pm-01'].map((id) => registry.get(id) as RegisteredDevice);
const rules = loadRuleSetOrThrow(PROFILES, []);
const T0 = Date.UTC(2026, 11, 4, 8, 0, 0);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Lane {
  core: LaneCore;
  engine: RuleEngine;
  store: StoreDatabase;
  changes: VerdictChange[];
}

/** The steps' time: the clock of the lanes' saving lag, as the monotonic clock moves with time in the gateway. */
let simulated = T0;

/** A lane core on the local store in `dataDir`, as the gateway builds it (seq window, rule state, alarm inbox). */
function laneOn(dataDir: string): Lane {
  const store = openStore({ dataDir, synchronous: 'normal' });
  const later = createWriteBuffer();
  const engine = createProfileRuleEngine(PROFILES, rules);
  const changes: VerdictChange[] = [];
  const core = createLaneCore({
    registry,
    profiles: PROFILES,
    engine,
    seqWindow: createSeqWindow(createSqliteSeqMemory(store, later)),
    maxPayloadBytes: 65_536,
    timestamps: { maxAheadMs: 300_000, maxBehindMs: 86_400_000 },
    sink: null,
    commit: committer(store, later, undefined),
    engineState: createSqliteEngineState(store, later),
    lagClock: () => simulated,
    inbox: createSqliteAlarmInbox(store),
    reloadRules: () => ({ result: { ok: true, files: [], changedAlarms: 0 }, changes: [] }),
    outlet: { alarmChanges: (c) => changes.push(...c), readingStored: () => undefined },
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
  });
  return { core, engine, store, changes };
}

/** The store as a crash would leave it: its files copied between two commits, nothing closed or checkpointed. */
function crashCopy(from: string): string {
  const to = mkdtempSync(join(tmpdir(), 'journal-crash-'));
  dirs.push(to);
  mkdirSync(to, { recursive: true });
  for (const suffix of ['', '-wal', '-shm']) {
    const file = join(from, STORE_FILE + suffix);
    if (existsSync(file)) copyFileSync(file, join(to, STORE_FILE + suffix));
  }
  return to;
}

type Step =
  | { kind: 'read'; device: number; dt: number; hopper: number; dp: number; fan: boolean; process: boolean; wait?: boolean }
  | { kind: 'tick'; dt: number; hold: boolean };
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      device: fc.integer({ min: 0, max: 3 }),
      // as often within a second as beyond it: the journal's entries are forgotten at most once a second
      dt: fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 40_000 })),
      hopper: fc.integer({ min: 20, max: 90 }),
      dp: fc.integer({ min: 100, max: 2_000 }),
      fan: fc.boolean(),
      process: fc.boolean(),
      // the commit may wait for the next batch (a lane whose devices send together): one commit, several entries
      wait: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 20 * 60_000 }), hold: fc.boolean() }),
  },
);

let seq = 0;
/** Applies a step to lanes at once (the same input); returns the new time. */
function apply(lanes: Lane[], s: Step, now: number): number {
  const at = now + s.dt;
  simulated = at;
  for (const lane of lanes) {
    if (s.kind === 'tick') {
      lane.core.tick(at, s.hold ? [{ device: 'dc-01', since: now, until: at }] : undefined);
      continue;
    }
    const metrics =
      s.device === 3
        ? { active_power: s.hopper }
        : { hopper_temp: s.hopper, diff_pressure: s.dp, fan_running: s.fan, process_running: s.process };
    const payload = Buffer.from(JSON.stringify({ ts: at, seq, metrics }));
    lane.core.judgeBatch([{ device: devices[s.device] as RegisteredDevice, payload, receivedAt: at }], s.wait);
  }
  if (s.kind === 'read') seq += 1;
  return at;
}

/** The engine's state as JSON, devices and group slots in key order (a restore adds them in the store's order). */
const stateOf = (engine: RuleEngine): unknown => {
  const snapshot = JSON.parse(JSON.stringify(engine.snapshot())) as EngineSnapshot;
  const keyOf = (d: EngineSnapshot['devices'][number]) => `${d.context.site}/${d.context.device}`;
  snapshot.devices.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
  snapshot.groups?.sort((a, b) => (a.key < b.key ? -1 : 1));
  return snapshot;
};
const inOrder = (changes: readonly VerdictChange[]): VerdictChange[] =>
  [...changes].sort((a, b) => a.at - b.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

describe('the rule state journal: devices saved late, their readings replayed at start', () => {
  it('a lane restarted on what a crash left has the rule state of the lane that never stopped, and judges on the same (property)', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.array(step, { maxLength: 10 }), (before, after) => {
        const dataDir = mkdtempSync(join(tmpdir(), 'journal-'));
        dirs.push(dataDir);
        const original = laneOn(dataDir);
        let now = T0;
        original.core.start(now);
        for (const s of before) now = apply([original], s, now);
        original.core.flushCommit();
        const restarted = laneOn(crashCopy(dataDir));
        restarted.core.start(now);
        // What fell due since the last tick (a group's delay over, a device's silence) the restarted lane may decide at
        // its start, the other at its next tick: both tick at the moment of the restart, then they have decided the same.
        original.changes.length = 0;
        original.core.tick(now);
        restarted.core.tick(now);
        expect(inOrder(restarted.changes)).toEqual(inOrder(original.changes));
        expect(stateOf(restarted.engine)).toEqual(stateOf(original.engine));
        original.changes.length = 0;
        restarted.changes.length = 0;
        for (const s of after) now = apply([original, restarted], s, now);
        // changes due at the same moment may come in another order (a restore queues the devices' timers anew)
        expect(inOrder(restarted.changes)).toEqual(inOrder(original.changes));
        original.store.close();
        restarted.store.close();
      }),
      { numRuns: 100 },
    );
  }, 30_000);

  it('after a clean stop and start, a crash still replays what each device read since: the journal numbers on, not from 1', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-'));
    dirs.push(dataDir);
    const first = laneOn(dataDir);
    let now = T0;
    first.core.start(now);
    const quiet = { kind: 'read' as const, device: 0, dt: 1_000, hopper: 30, dp: 900, fan: true, process: true };
    // entries 1–10, then every device saved by the clean stop: its state names entry 10, the journal is empty
    for (let i = 0; i < 10; i += 1) now = apply([first], { ...quiet, hopper: 30 + i }, now);
    first.core.checkpoint();
    first.store.close();
    const second = laneOn(dataDir);
    second.core.start(now);
    // readings that raise nothing after the start: journaled, dc-01 not saved again
    for (let i = 0; i < 3; i += 1) now = apply([second], { ...quiet, hopper: 50 + i, dp: 1_000 + i }, now);
    const third = laneOn(crashCopy(dataDir));
    third.core.start(now);
    expect(stateOf(third.engine)).toEqual(stateOf(second.engine));
    second.store.close();
    third.store.close();
  });

  it('saves a device whose readings raised nothing within the lag, forgetting the journal entries no state needs', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'journal-'));
    dirs.push(dataDir);
    const lane = laneOn(dataDir);
    lane.core.start(T0);
    const journal = () => lane.store.prepare('SELECT count(*) FROM engine_journal').pluck().get() as number;
    const savedAt = () => lane.store.prepare("SELECT journal_at FROM engine_device WHERE key = 'site-a/dc-01'").pluck().get() as number;
    const at0 = savedAt();
    let now = T0;
    for (let i = 0; i < 5; i += 1)
      now = apply([lane], { kind: 'read', device: 0, dt: 1_000, hopper: 30, dp: 900, fan: true, process: true }, now);
    // five readings that raised nothing: journaled, the device's saved state not rewritten
    expect(journal()).toBe(5);
    expect(savedAt()).toBe(at0);
    // a reading past the lag: the device is saved in that commit, and no entry is needed any more
    now = apply([lane], { kind: 'read', device: 0, dt: STATE_SAVING.maxLagMs, hopper: 30, dp: 900, fan: true, process: true }, now);
    expect(savedAt()).toBeGreaterThan(at0);
    expect(journal()).toBe(0);
    // a reading that raises an alarm: saved at once
    now = apply([lane], { kind: 'read', device: 0, dt: 1_000, hopper: 85, dp: 900, fan: true, process: true }, now);
    expect(lane.changes.some((c) => c.rule === 'hopper_temp_high')).toBe(true);
    expect(journal()).toBe(0);
    // readings within a second of that deletion, each clearing or raising (so their device is saved in its commit):
    // their entries, needed by no saved state, go with the next deletion a second later — one delete a second, not
    // one per commit
    for (const hopper of [30, 85, 30, 85])
      now = apply([lane], { kind: 'read', device: 0, dt: 200, hopper, dp: 900, fan: true, process: true }, now);
    expect(journal()).toBe(4);
    now = apply([lane], { kind: 'read', device: 0, dt: 200, hopper: 30, dp: 900, fan: true, process: true }, now);
    expect(journal()).toBe(0);
    // a clean stop saves what is left: the next start replays nothing, whenever the last deletion was
    now = apply([lane], { kind: 'read', device: 1, dt: 100, hopper: 30, dp: 900, fan: true, process: true }, now);
    now = apply([lane], { kind: 'read', device: 1, dt: 100, hopper: 30, dp: 900, fan: true, process: true }, now);
    expect(journal()).toBe(2);
    lane.core.checkpoint();
    expect(journal()).toBe(0);
    lane.store.close();
  });
});
