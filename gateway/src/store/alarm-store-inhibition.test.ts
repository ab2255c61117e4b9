import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createInhibition, INHIBITED_KEPT, type Inhibition, type VerdictChange } from '../../../rules/src/index.js';
import { stepsArbitrary, toChange } from '../../../rules/test-support/inhibition-steps.js';
import type { AlarmStore } from '../alarms/alarm-store.js';
import { createSqliteAlarmStore } from './alarm-store-sqlite.js';
import { migrate } from './migrations.js';
import { openStore, STORE_FILE } from './open-store.js';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'alarm-inhibition-'));

/** One commit of what changed in `inhibition` since the last (the alarm service's, once a step). */
const commitChanges = (store: AlarmStore, inhibition: Inhibition): void => {
  const changes = inhibition.takeChanges();
  if (changes) store.commit(() => store.saveInhibition(changes));
};

describe('the inhibition state in the local store, row by row', () => {
  it('gives back what the inhibition holds, in its order, after any batches of steps and restarts from the store', () => {
    fc.assert(
      fc.property(stepsArbitrary, (steps) => {
        const db = openStore({ dataDir: fresh(), synchronous: 'normal' });
        const store = createSqliteAlarmStore(db);
        let inhibition = createInhibition({ maxRecent: 5 });
        try {
          for (const [at, [step, afterwards]] of steps.entries()) {
            inhibition.observe(toChange(step, at));
            // a commit after several changes (the alarm service's is one per batch): 'rewind' commits, 'save' restarts
            if (afterwards === 'go_on' && at < steps.length - 1) continue;
            commitChanges(store, inhibition);
            const { recent, ...kept } = store.load(0).inhibition ?? { recent: [] };
            const { recent: recentNow, ...now } = inhibition.snapshot();
            expect(kept).toEqual(now);
            // the store keeps the last 1,000; this inhibition its last 5
            expect(recent.slice(-5)).toEqual(recentNow);
            if (afterwards === 'save') {
              // a restart: a new inhibition from what the store gives back, going on from it
              inhibition = createInhibition({ maxRecent: 5 });
              inhibition.restore(store.load(0).inhibition);
              expect(inhibition.takeChanges()).toBeNull();
            }
          }
        } finally {
          db.close();
        }
      }),
      { numRuns: 100 },
    );
    // a hundred stores opened on disk: seconds on a loaded machine
  }, 30_000);

  it('an inhibitor or a held change that ends and comes back within one commit goes after those set meanwhile', () => {
    const db = openStore({ dataDir: fresh(), synchronous: 'normal' });
    const store = createSqliteAlarmStore(db);
    const inhibition = createInhibition();
    const observe = (device: string, rule: string, status: 'true' | 'false', at: number): void => {
      inhibition.observe(toChange({ site: 'a', device, rule, status, metric: 'x' }, at));
    };
    const commit = (): void => commitChanges(store, inhibition);
    observe('d9', 'device_silent', 'true', 0);
    commit();
    // one commit: d1 silent, d2 silent, d1 back and silent again (now after d2); d1's and d2's temperatures held, d1
    // back in between (d1's now after d2's)
    observe('d1', 'device_silent', 'true', 1);
    observe('d1', 'temp_high', 'true', 2);
    observe('d2', 'device_silent', 'true', 3);
    observe('d2', 'temp_high', 'true', 4);
    observe('d1', 'device_silent', 'false', 5);
    observe('d1', 'device_silent', 'true', 6);
    observe('d1', 'temp_high', 'true', 7);
    commit();
    const loaded = store.load(0).inhibition;
    expect(loaded?.inhibitors.map((i) => i.key)).toEqual(['a/d9/device_silent', 'a/d2/device_silent', 'a/d1/device_silent']);
    expect(loaded?.latent.map(([key]) => key)).toEqual(['a/d2/temp_high', 'a/d1/temp_high']);
    expect(loaded).toEqual({ ...inhibition.snapshot(), recent: expect.any(Array) });
    db.close();
  });

  it('writes what a step changed, not the whole state: a fleet back after an outage costs each device its own rows', () => {
    const db = openStore({ dataDir: fresh(), synchronous: 'normal' });
    const store = createSqliteAlarmStore(db);
    const inhibition = createInhibition();
    const save = (): void => commitChanges(store, inhibition);
    const silent = (i: number, on: boolean, at: number): VerdictChange => ({
      ...toChange({ site: 'plant', device: `m${i}`, rule: 'device_silent', status: on ? 'true' : 'false', metric: 'x' }, at),
      inhibits: { scope: 'device' },
    });
    for (let i = 0; i < 2_000; i += 1) {
      inhibition.observe(silent(i, true, 1));
      inhibition.observe(toChange({ site: 'plant', device: `m${i}`, rule: 'temp_high', status: 'true', metric: 'x' }, 2));
    }
    save();
    // one device back: its silence ends and its held change goes; the statements run are those two rows' and nothing
    // else (a whole-state record would be written again here: about 2 MB for this plant)
    const before = db.prepare('SELECT total_changes() AS n').get() as { n: number };
    inhibition.observe(silent(7, false, 3));
    save();
    const after = db.prepare('SELECT total_changes() AS n').get() as { n: number };
    expect(after.n - before.n).toBe(2);
    const loaded = store.load(0).inhibition;
    expect(loaded?.inhibitors).toHaveLength(1_999);
    expect(loaded?.latent).toHaveLength(1_999);
    db.close();
  });

  it('keeps the last INHIBITED_KEPT inhibited changes: the table stops growing there and gives back the newest, oldest first', () => {
    const db = openStore({ dataDir: fresh(), synchronous: 'normal' });
    const store = createSqliteAlarmStore(db);
    const inhibition = createInhibition();
    const rows = db.prepare('SELECT count(*) FROM alarm_inhibited').pluck();
    inhibition.observe({
      ...toChange({ site: 'plant', device: 'm1', rule: 'device_silent', status: 'true', metric: 'x' }, 0),
      inhibits: { scope: 'device' },
    });
    commitChanges(store, inhibition);
    // a silent device's temperature alarm comes and goes behind its silence, committed in batches of 70
    const total = 2 * INHIBITED_KEPT + 150;
    for (let at = 1; at <= total; at += 1) {
      const status = at % 2 === 1 ? 'true' : 'false';
      inhibition.observe(toChange({ site: 'plant', device: 'm1', rule: 'temp_high', status, metric: 'x' }, at));
      if (at % 70 === 0 || at === total) {
        commitChanges(store, inhibition);
        expect(rows.get()).toBe(Math.min(at, INHIBITED_KEPT));
      }
    }
    const recent = store.load(0).inhibition?.recent ?? [];
    expect(recent).toHaveLength(INHIBITED_KEPT);
    expect(recent.map((entry) => entry.at)).toEqual(Array.from({ length: INHIBITED_KEPT }, (_, i) => total - INHIBITED_KEPT + 1 + i));
    expect(recent).toEqual(inhibition.snapshot().recent);
    db.close();
  });

  it("a store of schema 13 (the state as one record) gives back the same inhibition, an older record's missing metrics too", () => {
    const inhibition = createInhibition();
    const steps: Array<Parameters<typeof toChange>[0]> = [
      { site: 'a', device: 'd1', rule: 'device_silent', status: 'true', metric: 'x' },
      { site: 'a', device: 'd2', rule: 'sensor_fault', status: 'true', metric: 'y' },
      { site: 'a', device: 'd1', rule: 'temp_high', status: 'true', metric: 'x' },
      { site: 'a', device: 'd2', rule: 'level_low', status: 'true', metric: 'y' },
      { site: 'a', device: 'd2', rule: 'level_low', status: 'false', metric: null },
    ];
    for (const [at, step] of steps.entries()) inhibition.observe(toChange(step, at));
    const snapshot = inhibition.snapshot();
    expect(snapshot.latent.map(([key]) => key)).toEqual(['a/d1/temp_high', 'a/d2/level_low']);
    // a record from before heldMetrics (session 26): restore takes each change's own metric
    const older = { ...snapshot, heldMetrics: undefined };
    for (const [record, heldMetrics] of [
      [snapshot, snapshot.heldMetrics],
      [older, []],
    ] as const) {
      const dir = fresh();
      const old = new Database(join(dir, STORE_FILE));
      migrate(old, 13);
      old.prepare("INSERT INTO alarm_inhibition (name, state) VALUES ('book', ?)").run(JSON.stringify(record));
      old.close();
      const db = openStore({ dataDir: dir, synchronous: 'normal' });
      expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'alarm_inhibition'").get()).toEqual({ n: 0 });
      const loaded = createSqliteAlarmStore(db).load(0).inhibition;
      expect(loaded).toEqual({ ...snapshot, heldMetrics });
      const restored = createInhibition();
      restored.restore(loaded);
      restored.restore(record);
      const fromRecord = restored.held();
      restored.restore(loaded);
      expect(restored.held()).toEqual(fromRecord);
      db.close();
    }
  });
});
