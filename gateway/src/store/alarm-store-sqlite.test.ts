import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AlarmEvent, createAlarmBook, type Severity, type VerdictChange } from '../../../rules/src/index.js';
import { createAlarmService } from '../alarms/alarm-service.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createSqliteAlarmInbox } from './alarm-inbox-sqlite.js';
import { createSqliteAlarmStore } from './alarm-store-sqlite.js';
import { openStore, type StoreDatabase } from './open-store.js';

const change = (value: number, status: 'true' | 'false', at: number, severity: Severity = 'yellow'): VerdictChange => ({
  key: 'site-a/dc-01/hopper_temp_high',
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: 'test',
  verdict:
    status === 'true' ? { status, severity, metric: 'hopper_temp', value, threshold: 60, unit: '°C', message: `hot ${value}` } : { status },
  at,
});

/** One life of the gateway's alarm side on the store in `dir`: a fresh book, loaded from the store. */
function life(dir: string, now = 1_000) {
  const db: StoreDatabase = openStore({ dataDir: dir, synchronous: 'normal' });
  let n = 0;
  const next = (): number => {
    n += 1;
    return n;
  };
  const events: AlarmEvent[] = [];
  const service = createAlarmService({
    book: createAlarmBook({ newAlarmId: () => `alm_${process.hrtime.bigint()}_${next()}` }),
    now: () => now,
    newEventId: () => `evt_${next()}`,
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
    store: createSqliteAlarmStore(db),
    inbox: createSqliteAlarmInbox(db),
    retentionMs: 10_000,
  });
  service.onEvent((event) => events.push(event));
  return { db, service, events, inbox: createSqliteAlarmInbox(db) };
}

const fresh = (): string => mkdtempSync(join(tmpdir(), 'alarm-store-'));

describe('the alarm book in the local store (issue 13: restart and reconcile)', () => {
  it('a new life finds the open alarm with its id, seq, acknowledgement and history, and goes on counting', () => {
    const dir = fresh();
    const first = life(dir);
    first.service.apply([change(65, 'true', 100)]);
    const id = first.events[0]?.data.alarm.id as string;
    expect(first.service.acknowledge(id, 'duty', 'on it').ok).toBe(true);
    first.db.close();

    const second = life(dir);
    const alarm = second.service.book.get(id);
    expect(alarm).toMatchObject({ id, seq: 2, acknowledged: true, acknowledgedBy: 'duty', state: 'active' });
    expect(second.service.book.history(id).map((step) => step.type)).toEqual(['alarm.raised', 'alarm.acknowledged']);
    second.service.apply([change(65, 'true', 200)]);
    expect(second.events).toEqual([]);
    second.service.apply([change(50, 'false', 300)]);
    expect(second.events.map((e) => [e.type, e.data.alarm.id, e.data.alarm.seq])).toEqual([['alarm.cleared', id, 3]]);
    second.db.close();
  });

  it('changes the lane committed but the book never took (a crash between the two commits) are applied once at the next start', () => {
    const dir = fresh();
    const first = life(dir);
    // the lane's commit: in the inbox; the crash comes before the book's commit
    first.inbox.put([change(65, 'true', 100)]);
    first.db.close();

    const second = life(dir);
    expect(second.service.recover()).toBe(1);
    expect(second.events.map((e) => e.type)).toEqual(['alarm.raised']);
    expect(second.service.recover()).toBe(0);
    second.db.close();

    const third = life(dir);
    expect(third.service.recover()).toBe(0);
    expect(third.service.book.list({ state: 'open' })).toHaveLength(1);
    third.db.close();
  });

  it('changes applied with their inbox id leave the inbox in the same commit', () => {
    const dir = fresh();
    const first = life(dir);
    const upTo = first.inbox.put([change(65, 'true', 100)]);
    first.service.apply([change(65, 'true', 100)], upTo);
    expect(first.inbox.waiting()).toBeNull();
    first.db.close();
    expect(life(dir).service.recover()).toBe(0);
  });

  it('a flapping alarm whose condition ended before a restart clears when its flapping ends after it', () => {
    const dir = fresh();
    const first = life(dir);
    // six reversals in a minute, the last a fall from orange to yellow: flapping (default: more than 5 in 10 minutes),
    // the alarm active
    const steps = [
      ['true', 'yellow'],
      ['false', 'yellow'],
      ['true', 'yellow'],
      ['false', 'yellow'],
      ['true', 'orange'],
      ['true', 'yellow'],
    ] as const;
    for (const [i, [status, severity]] of steps.entries()) first.service.apply([change(65, status, (i + 1) * 1_000, severity)]);
    expect(first.events.map((event) => event.type).at(-1)).toBe('alarm.flapping');
    // the condition ends: held while flapping (the alarm shows active), no transition to record
    const at = 7_000;
    first.service.apply([change(50, 'false', at)]);
    expect(first.events.map((event) => event.type).at(-1)).toBe('alarm.flapping');
    first.db.close();

    const second = life(dir);
    // quiet for a window from the change held back, not from the one before it
    second.service.tick(at + 10 * 60_000 - 1);
    expect(second.events).toEqual([]);
    second.service.tick(at + 10 * 60_000);
    expect(second.events.map((event) => event.type)).toEqual(['alarm.unflapped', 'alarm.cleared']);
    expect(second.service.book.list({ state: 'open' })).toMatchObject([{ state: 'cleared', flapping: false }]);
  });

  it('resolved alarms past retention leave the store with their history; open ones stay', () => {
    const dir = fresh();
    const first = life(dir, 1_000);
    first.service.apply([change(65, 'true', 100)]);
    first.service.apply([change(50, 'false', 200)]);
    const id = first.events[0]?.data.alarm.id as string;
    expect(first.service.resolve(id, 'duty', null).ok).toBe(true);
    first.service.apply([{ ...change(66, 'true', 300), key: 'site-a/dc-02/hopper_temp_high', device: 'dc-02' }]);
    first.service.tick(1_000 + 10_001);
    const rows = first.db.prepare('SELECT count(*) FROM alarm_transition WHERE alarm_id = ?').pluck();
    expect(rows.get(id)).toBe(0);
    first.db.close();
    const second = life(dir);
    expect(second.service.book.get(id)).toBeUndefined();
    expect(second.service.book.list({ state: 'open' }).map((a) => a.device)).toEqual(['dc-02']);
  });
});

describe('shelves and inhibition in the local store (issue 15)', () => {
  it('a new life keeps the window, the held steps and the inhibited change; the expiry and the release still happen', () => {
    const dir = fresh();
    const first = life(dir);
    const window = first.service.record((at) => {
      const result = first.service.book.shelving.shelve(
        {
          id: 'shf_1',
          scope: 'device',
          site: 'site-a',
          device: 'dc-01',
          reason: 'maintenance',
          by: 'op',
          from: at,
          until: 60_000,
          holdsRed: false,
        },
        at,
      );
      return { result, transitions: result.ok ? result.transitions : [] };
    });
    expect(window.ok).toBe(true);
    first.service.apply([change(65, 'true', 2_000)]);
    const silent: VerdictChange = {
      ...change(0, 'true', 3_000),
      key: 'site-a/dc-02/device_silent',
      device: 'dc-02',
      rule: 'device_silent',
      inhibits: { scope: 'device' },
    };
    first.service.apply([silent, { ...change(70, 'true', 3_000), key: 'site-a/dc-02/hopper_temp_high', device: 'dc-02' }]);
    expect(first.events.map((e) => [e.type, e.data.alarm.key])).toEqual([['alarm.raised', 'site-a/dc-02/device_silent']]);
    first.db.close();

    const second = life(dir);
    expect(second.service.book.shelving.list(false).map((s) => s.id)).toEqual(['shf_1']);
    expect(second.service.book.inhibition.held().map((h) => h.key)).toEqual(['site-a/dc-02/hopper_temp_high']);
    const id = second.service.book.list({ device: 'dc-01' })[0]?.id as string;
    expect(second.service.book.history(id).map((s) => [s.type, s.held])).toEqual([['alarm.raised', 'shf_1']]);
    expect(second.service.book.nextDueAt()).toBe(60_000);
    second.service.tick(60_000);
    second.service.apply([{ ...silent, verdict: { status: 'false' }, at: 61_000 }]);
    expect(second.events.map((e) => [e.type, e.data.alarm.key])).toEqual([
      ['alarm.unshelved', 'site-a/dc-01/hopper_temp_high'],
      ['alarm.raised', 'site-a/dc-01/hopper_temp_high'],
      ['alarm.cleared', 'site-a/dc-02/device_silent'],
      ['alarm.raised', 'site-a/dc-02/hopper_temp_high'],
    ]);
    second.db.close();

    const third = life(dir);
    expect(third.service.book.shelving.list(false)).toEqual([]);
    expect(third.service.book.shelving.list(true)[0]).toMatchObject({
      id: 'shf_1',
      endedAt: new Date(60_000).toISOString(),
      endedBy: null,
    });
    expect(third.service.book.inhibition.held()).toEqual([]);
    third.db.close();
  });
});

describe('a store write that fails inside the commit (issue 13: a full store)', () => {
  it('a listener writing in the commit that finds the store full fails the commit with SQLITE_FULL, and the transition is not recorded', () => {
    const dir = fresh();
    const first = life(dir);
    first.db.exec('CREATE TABLE filler (body TEXT)');
    // The webhook outbox and the spool write in the book's commit, as listeners; SQLite rolls back on SQLITE_FULL.
    const fill = first.db.prepare('INSERT INTO filler (body) VALUES (?)');
    first.service.onEvent(() => {
      for (;;) fill.run('x'.repeat(4_096));
    });
    first.db.pragma(`max_page_count = ${first.db.pragma('page_count', { simple: true })}`);
    expect(() => first.service.apply([change(65, 'true', 100)])).toThrow(expect.objectContaining({ code: 'SQLITE_FULL' }));
    expect(first.db.inTransaction).toBe(false);
    first.db.close();

    const second = life(dir);
    expect(second.service.book.list({ state: 'open' })).toEqual([]);
    second.db.close();
  });
});
