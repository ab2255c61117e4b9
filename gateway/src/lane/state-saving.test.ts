import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../../profiles/index.js';
import type { DeviceContext, Reading } from '../../../rules/src/index.js';
import { loadRuleSetOrThrow } from '../rule-files/load-rule-files.js';
import { createProfileRuleEngine } from '../rule-files/profile-engine.js';
import { createSqliteEngineState } from '../store/engine-state-sqlite.js';
import { openStore } from '../store/open-store.js';
import { createStateSaving, replayJournal, type StateSaving } from './state-saving.js';

const rules = loadRuleSetOrThrow(PROFILES, []);
const T0 = Date.UTC(2026, 11, 4, 8, 0, 0);
const context = (device: string): DeviceContext => ({ site: 'site-a', device, profile: 'dust-collector', attributes: {} });
const quiet = (device: string, at: number): Reading => ({
  site: 'site-a',
  device,
  profile: 'dust-collector',
  ts: at,
  receivedAt: at,
  metrics: { hopper_temp: 30, diff_pressure: 900, fan_running: true, process_running: true },
});

/**
 * An engine and its state saving on a fresh store; the devices read once at T0 and were saved then. The lag's clock
 * (monotonic in the gateway) reads each commit's time, unless a test moves it on its own (`clock.own`).
 */
function saving(options = { maxLagMs: 1_000, maxPerCommit: 2 }) {
  const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'state-saving-')), synchronous: 'normal' });
  const store = createSqliteEngineState(db);
  const engine = createProfileRuleEngine(PROFILES, rules);
  const clock = { now: T0, own: false };
  const inner = createStateSaving(engine, store, options, () => clock.now);
  const at = (time: number): void => {
    if (!clock.own) clock.now = time;
  };
  const saved: StateSaving = {
    afterReadings: (readings, changes, time) => (at(time), inner.afterReadings(readings, changes, time)),
    afterOther: (time, held) => (at(time), inner.afterOther(time, held)),
    saveAll: (time, also) => (at(time), inner.saveAll(time, also)),
  };
  const ids = ['dc-01', 'dc-02', 'dc-03'];
  for (const id of ids) engine.onReading(quiet(id, T0), context(id));
  saved.saveAll(T0);
  /** Readings of `devices` that change no verdict, in one commit at `at`. */
  const read = (devices: readonly string[], at: number) => {
    const readings = devices.map((id) => quiet(id, at));
    for (const reading of readings) engine.onReading(reading, context(reading.device));
    return saved.afterReadings(readings, [], at);
  };
  const keys = (changes: { devices: ReadonlyArray<{ key: string }> }) => changes.devices.map(({ key }) => key).sort();
  return { db, store, engine, saved, read, keys, clock };
}

describe('saving the rule state late: the lag and the bound per commit', () => {
  it('a device whose readings changed nothing is saved once its lag has run out (not a ms before), at most maxPerCommit per commit', () => {
    const { saved, read, keys } = saving();
    expect(keys(read(['dc-01', 'dc-02', 'dc-03'], T0 + 100))).toEqual([]);
    expect(keys(saved.afterOther(T0 + 1_099))).toEqual([]);
    // the lag ran out for all three: two in this commit, the third in the next
    expect(keys(saved.afterOther(T0 + 1_100))).toEqual(['site-a/dc-01', 'site-a/dc-02']);
    expect(keys(saved.afterOther(T0 + 1_101))).toEqual(['site-a/dc-03']);
    expect(keys(saved.afterOther(T0 + 5_000))).toEqual([]);
  });

  it('times the lag on its own clock: commit times set back an hour (the wall clock) neither hold saves back nor hurry them', () => {
    const { saved, read, keys, clock } = saving();
    clock.own = true;
    clock.now = 0;
    expect(keys(read(['dc-01'], T0 + 100))).toEqual([]);
    // the host's clock is set back an hour: commits are stamped an hour earlier, the lag's clock goes on
    const back = T0 - 3_600_000;
    clock.now = 999;
    expect(keys(saved.afterOther(back))).toEqual([]);
    clock.now = 1_000;
    expect(keys(saved.afterOther(back + 1_000))).toEqual(['site-a/dc-01']);
    // and set forward a day: a device deferred now still waits its lag
    expect(keys(read(['dc-02'], back + 2_000))).toEqual([]);
    expect(keys(saved.afterOther(T0 + 86_400_000))).toEqual([]);
    clock.now = 2_000;
    expect(keys(saved.afterOther(T0 + 86_400_000 + 10))).toEqual(['site-a/dc-02']);
  });

  it('a commit with no readings, or a tick without holds, writes no journal entry', () => {
    const { store, saved, read } = saving();
    const before = store.journalPosition();
    saved.afterReadings([], [], T0 + 10);
    saved.afterOther(T0 + 20);
    saved.afterOther(T0 + 30, []);
    expect(store.journalPosition()).toBe(before);
    read(['dc-01'], T0 + 40);
    saved.afterOther(T0 + 50, [{ site: 'site-a', device: 'dc-02', since: T0, until: T0 + 50 }]);
    expect(store.journalPosition()).toBe(before + 2);
  });

  it('saveAll saves every device still unsaved and those it is given, so that nothing is left to replay', () => {
    const { db, store, engine, saved, read, keys } = saving({ maxLagMs: 60_000, maxPerCommit: 64 });
    read(['dc-01', 'dc-02'], T0 + 100);
    // dc-03 moved without a commit of readings (a replay at start moves devices so)
    engine.onReading(quiet('dc-03', T0 + 200), context('dc-03'));
    engine.takeChanged();
    expect(keys(saved.saveAll(T0 + 300, ['site-a/dc-03']))).toEqual(['site-a/dc-01', 'site-a/dc-02', 'site-a/dc-03']);
    const state = store.load();
    expect(state?.journal).toEqual([]);
    // the saved states are the engine's as it is: a restore from them alone has its state
    const again = createProfileRuleEngine(PROFILES, rules);
    again.restore(state?.snapshot as never, T0 + 300, 0);
    const byKey = (snapshot: ReturnType<typeof engine.snapshot>) =>
      JSON.stringify([...snapshot.devices].sort((a, b) => (a.context.device < b.context.device ? -1 : 1)));
    expect(byKey(again.snapshot())).toBe(byKey(engine.snapshot()));
    db.close();
  });

  it('a replay after a crash applies the readings and holds journaled after each device saved state, and counts the readings', () => {
    const { db, store, engine, saved, read } = saving({ maxLagMs: 60_000, maxPerCommit: 64 });
    read(['dc-01'], T0 + 1_000);
    read(['dc-01', 'dc-02'], T0 + 2_000);
    // the gateway held dc-02's publishes for a while: its silence clock moved without a reading
    engine.held([{ site: 'site-a', device: 'dc-02', since: T0 + 2_000, until: T0 + 9_000 }]);
    saved.afterOther(T0 + 9_000, [{ site: 'site-a', device: 'dc-02', since: T0 + 2_000, until: T0 + 9_000 }]);
    const state = store.load();
    if (!state) throw new Error('nothing saved');
    const restarted = createProfileRuleEngine(PROFILES, rules);
    restarted.restore(state.snapshot, T0 + 9_000, 0);
    const replay = replayJournal(restarted, state, context, (error) => {
      throw error;
    });
    expect(replay.readings).toBe(3);
    expect([...replay.devices].sort()).toEqual(['site-a/dc-01', 'site-a/dc-02']);
    const device = (e: typeof engine, id: string) => JSON.stringify(e.snapshot().devices.find((d) => d.context.device === id));
    expect(device(restarted, 'dc-02')).toBe(device(engine, 'dc-02'));
    expect(device(restarted, 'dc-01')).toBe(device(engine, 'dc-01'));
    db.close();
  });
});
