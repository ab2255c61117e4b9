import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  type AlarmBook,
  type AlarmBookSnapshot,
  type AlarmEvent,
  type AlarmTransition,
  createAlarmBook,
  type FlapRecord,
  type InhibitionChanges,
  type Severity,
  type Shelf,
  type VerdictChange,
} from '../../../rules/src/index.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import type { AlarmInbox } from './alarm-inbox.js';
import { type AlarmService, type AlarmServiceDeps, createAlarmService, MAX_CLOSED } from './alarm-service.js';
import type { AlarmStore } from './alarm-store.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

const raise = (device: string, severity: Severity, at: number, rule = 'hopper_temp_high'): VerdictChange => ({
  key: `site-a/${device}/${rule}`,
  site: 'site-a',
  device,
  profile: 'dust-collector',
  rule,
  source: 'test',
  verdict: { status: 'true', severity, metric: 'hopper_temp', value: 85, threshold: 80, unit: '°C', message: 'hot' },
  at,
});
const clear = (device: string, at: number, rule = 'hopper_temp_high'): VerdictChange => ({
  ...raise(device, 'yellow', at, rule),
  verdict: { status: 'false' },
});

/** An in-memory store (the port's contract, as the SQLite adapter keeps it) that shows what the service asked of it. */
function memoryStore(snapshot: AlarmBookSnapshot | null = null) {
  const log: string[] = [];
  const recorded: Array<{ type: string; alarm: string; held: string | undefined; flap: FlapRecord | undefined }> = [];
  const shelves: Shelf[][] = [];
  const inhibition: InhibitionChanges[] = [];
  const pruned: number[] = [];
  const state = { failNext: false, pruneAnswer: 0, loadedWith: -1 };
  const store: AlarmStore = {
    load(maxClosed) {
      state.loadedWith = maxClosed;
      return snapshot ?? createAlarmBook({ newAlarmId: () => 'x' }).snapshot();
    },
    record(steps: readonly AlarmTransition[], flapOf) {
      log.push(`record ${steps.length}`);
      for (const step of steps) recorded.push({ type: step.type, alarm: step.alarm.id, held: step.held, flap: flapOf(step.alarm.key) });
    },
    saveFlaps(keys) {
      log.push(`flaps ${[...keys].join(' ')}`);
    },
    saveShelves(changed) {
      log.push('shelves');
      shelves.push(structuredClone([...changed]));
    },
    saveInhibition(saved) {
      log.push('inhibition');
      inhibition.push(saved);
    },
    prune(before) {
      pruned.push(before);
      return state.pruneAnswer;
    },
    commit(work) {
      log.push('begin');
      const result = work();
      if (state.failNext) {
        state.failNext = false;
        log.push('rollback');
        throw new Error('SQLITE_FULL: database or disk is full');
      }
      log.push('commit');
      return result;
    },
    failedWith: (error) => error instanceof Error && error.message.startsWith('SQLITE_'),
  };
  return { store, log, recorded, shelves, inhibition, pruned, state };
}

function setup(extra: Partial<AlarmServiceDeps> = {}, book?: AlarmBook) {
  const logged: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged.push(JSON.parse(String(chunk)));
      done();
    },
  });
  let alarmIds = 0;
  let eventIds = 0;
  const clock = { t: 10 * HOUR };
  const metrics = createGatewayMetrics({ processMetrics: false });
  const alarms: AlarmService = createAlarmService({
    book: book ?? createAlarmBook({ newAlarmId: () => `alm_${++alarmIds}` }),
    now: () => clock.t,
    newEventId: () => `evt_${++eventIds}`,
    metrics,
    log: createLogger('info', sink),
    ...extra,
  });
  const events: AlarmEvent[] = [];
  alarms.onEvent((event) => events.push(event));
  /** gateway_alarms_open per severity, as /metrics shows it. */
  const open = async (): Promise<Record<string, number>> => {
    const text = await metrics.registry.getSingleMetricAsString('gateway_alarms_open');
    return Object.fromEntries([...text.matchAll(/severity="(\w+)"} (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  };
  const counted = async (): Promise<string[]> => {
    const text = await metrics.registry.getSingleMetricAsString('gateway_alarm_events_total');
    return text.split('\n').filter((line) => line.startsWith('gateway_alarm_events_total{'));
  };
  /** gateway_alarm_decision_seconds: how many were timed, and the seconds they took in all. */
  const decisions = async (): Promise<{ count: number; sum: number }> => {
    const text = await metrics.registry.getSingleMetricAsString('gateway_alarm_decision_seconds');
    const value = (suffix: string): number => Number(new RegExp(`^gateway_alarm_decision_seconds_${suffix} (\\S+)$`, 'm').exec(text)?.[1]);
    return { count: value('count'), sum: value('sum') };
  };
  return { alarms, events, logged, clock, open, counted, decisions, types: () => events.map((e) => e.type) };
}

describe('the alarm service: transitions delivered, counted and logged', () => {
  it('each transition is one event with a fresh id, its time and the alarm; every listener gets it', () => {
    const { alarms, events, clock } = setup();
    const other: AlarmEvent[] = [];
    alarms.onEvent((event) => other.push(event));
    alarms.apply([raise('dc-01', 'orange', 1_000), raise('dc-02', 'yellow', 1_000)]);
    expect(events.map((e) => [e.type, e.id, e.timestamp, e.data.alarm.id, e.data.alarm.severity])).toEqual([
      ['alarm.raised', 'evt_1', new Date(1_000).toISOString(), 'alm_1', 'orange'],
      ['alarm.raised', 'evt_2', new Date(1_000).toISOString(), 'alm_2', 'yellow'],
    ]);
    expect(other).toEqual(events);
    clock.t = 5_000;
    expect(alarms.acknowledge('alm_1', 'duty', 'on it')).toMatchObject({ ok: true });
    expect(events[2]).toMatchObject({ type: 'alarm.acknowledged', id: 'evt_3', timestamp: new Date(5_000).toISOString() });
    expect(events[2]?.data.alarm).toMatchObject({ id: 'alm_1', acknowledged: true, acknowledgedBy: 'duty' });
  });

  it('a listener that unsubscribed gets nothing more; the others still do', () => {
    const { alarms, events } = setup();
    const other: AlarmEvent[] = [];
    const stop = alarms.onEvent((event) => other.push(event));
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    stop();
    alarms.apply([clear('dc-01', 2_000)]);
    expect(other.map((e) => e.type)).toEqual(['alarm.raised']);
    expect(events.map((e) => e.type)).toEqual(['alarm.raised', 'alarm.cleared']);
  });

  it('a listener that throws is logged; the listeners after it still get the event', () => {
    const { alarms, logged } = setup();
    const after: string[] = [];
    alarms.onEvent(() => {
      throw new Error('queue full');
    });
    alarms.onEvent((event) => after.push(event.type));
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    expect(after).toEqual(['alarm.raised']);
    const failed = logged.filter((entry) => entry.msg === 'alarm listener failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 50, type: 'alarm.raised', err: { message: 'queue full' } });
  });

  it('logs each transition with its type, alarm, key and severity', () => {
    const { alarms, logged } = setup();
    alarms.apply([raise('dc-01', 'red', 1_000)]);
    expect(logged.filter((entry) => entry.msg === 'alarm transition')).toEqual([
      expect.objectContaining({ level: 30, type: 'alarm.raised', alarm: 'alm_1', key: 'site-a/dc-01/hopper_temp_high', severity: 'red' }),
    ]);
  });

  it('counts events by type and severity, and open alarms per severity (0 for none), from the start', async () => {
    let n = 0;
    const book = createAlarmBook({ newAlarmId: () => `alm_${++n}` });
    book.apply(raise('dc-09', 'yellow', 0));
    const { alarms, open, counted, clock } = setup({}, book);
    expect(await open()).toEqual({ red: 0, orange: 0, yellow: 1, blue: 0 });
    alarms.apply([raise('dc-01', 'red', 1_000), raise('dc-02', 'red', 1_000), raise('dc-03', 'orange', 1_000)]);
    expect(await open()).toEqual({ red: 2, orange: 1, yellow: 1, blue: 0 });
    alarms.apply([clear('dc-01', 2_000)]);
    clock.t = 3_000;
    const cleared = alarms.book.list({ state: 'active' }).length;
    expect(cleared).toBe(3);
    expect(alarms.resolve(alarms.book.list({ state: 'open' }).find((a) => a.device === 'dc-01')?.id ?? '', 'duty', null).ok).toBe(true);
    expect(await open()).toEqual({ red: 1, orange: 1, yellow: 1, blue: 0 });
    expect(await counted()).toEqual([
      'gateway_alarm_events_total{type="alarm.raised",severity="red"} 2',
      'gateway_alarm_events_total{type="alarm.raised",severity="orange"} 1',
      'gateway_alarm_events_total{type="alarm.cleared",severity="red"} 1',
      'gateway_alarm_events_total{type="alarm.resolved",severity="red"} 1',
    ]);
  });
});

describe('duty actions', () => {
  it('acknowledge, assign and resolve at the clock time; a refused action emits nothing', () => {
    const { alarms, clock, types } = setup();
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    clock.t = 2_000;
    expect(alarms.assign('alm_1', 'li.na', 'duty', 'yours')).toMatchObject({ ok: true, transition: { at: 2_000, type: 'alarm.assigned' } });
    expect(alarms.book.get('alm_1')?.assignee).toBe('li.na');
    expect(alarms.resolve('alm_1', 'duty', null)).toEqual({ ok: false, error: { code: 'alarm_still_active' } });
    expect(alarms.acknowledge('alm_9', 'duty', null)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    alarms.apply([clear('dc-01', 2_500)]);
    clock.t = 3_000;
    expect(alarms.resolve('alm_1', 'duty', 'fixed')).toMatchObject({
      ok: true,
      transition: { at: 3_000, type: 'alarm.resolved', by: 'duty' },
    });
    expect(types()).toEqual(['alarm.raised', 'alarm.assigned', 'alarm.cleared', 'alarm.resolved']);
  });

  it('a resolve of an alarm its shelf held past the deadline delivers the alarm.overdue first, then the resolve', () => {
    const book = createAlarmBook({ newAlarmId: () => 'alm_1', deadlineOf: () => 11 * HOUR });
    const { alarms, clock, types } = setup({}, book);
    alarms.apply([raise('dc-01', 'orange', 10 * HOUR), clear('dc-01', 10 * HOUR + MIN)]);
    alarms.record((at) => {
      const request = {
        id: 'shf_1',
        scope: 'alarm',
        alarm: 'alm_1',
        reason: 'r',
        by: 'op',
        from: at,
        until: 14 * HOUR,
        holdsRed: false,
      } as const;
      const shelved = alarms.book.shelving.shelve(request, at);
      return { result: shelved, transitions: shelved.ok ? shelved.transitions : [] };
    });
    clock.t = 11 * HOUR;
    alarms.tick(clock.t);
    clock.t = 12 * HOUR;
    expect(alarms.resolve('alm_1', 'duty', 'late')).toMatchObject({ ok: true, transition: { type: 'alarm.resolved' } });
    expect(types()).toEqual(['alarm.raised', 'alarm.cleared', 'alarm.shelved', 'alarm.overdue', 'alarm.resolved']);
  });

  it('an accepted acknowledgement is told to the rule engine with the key and the time; a refused one is not', () => {
    const told: Array<[string, number]> = [];
    const { alarms, clock } = setup({ acknowledged: (key, at) => told.push([key, at]) });
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    clock.t = 4_000;
    alarms.acknowledge('alm_1', 'duty', null);
    alarms.acknowledge('alm_1', 'duty', null);
    alarms.acknowledge('alm_7', 'duty', null);
    expect(told).toEqual([['site-a/dc-01/hopper_temp_high', 4_000]]);
  });

  it('with handling.requireDisposal a resolve without its disposal record is refused; an unknown alarm is not found', () => {
    const { alarms, types } = setup({ requireDisposal: true });
    alarms.apply([raise('dc-01', 'orange', 1_000), clear('dc-01', 2_000)]);
    expect(alarms.resolve('alm_1', 'duty', null)).toEqual({ ok: false, error: { code: 'disposal_required' } });
    expect(alarms.resolve('alm_5', 'duty', null)).toEqual({ ok: false, error: { code: 'alarm_not_found' } });
    const disposal = { cause: 'probe drift', measures: 'replaced the probe', responsible: 'wang.fang' };
    expect(alarms.resolve('alm_1', 'duty', null, disposal)).toMatchObject({ ok: true, transition: { alarm: { disposal } } });
    expect(types()).toEqual(['alarm.raised', 'alarm.cleared', 'alarm.resolved']);
    // the alarm's own refusals come first: a retry of the resolve that went through, an alarm still active
    expect(alarms.resolve('alm_1', 'duty', null)).toEqual({ ok: false, error: { code: 'alarm_resolved' } });
    alarms.apply([raise('dc-02', 'orange', 3_000)]);
    expect(alarms.resolve('alm_2', 'duty', null)).toEqual({ ok: false, error: { code: 'alarm_still_active' } });
  });

  it('without requireDisposal a resolve needs no disposal', () => {
    const { alarms } = setup();
    alarms.apply([raise('dc-01', 'orange', 1_000), clear('dc-01', 2_000)]);
    expect(alarms.resolve('alm_1', 'duty', null).ok).toBe(true);
  });

  it('a chase is recorded at its own time by the system', () => {
    const { alarms, events } = setup();
    alarms.apply([raise('dc-01', 'red', 1_000)]);
    const chase = {
      policy: 'red',
      step: 1,
      condition: 'not_acknowledged' as const,
      dueAt: new Date(6_000).toISOString(),
      notify: { subscribers: ['manager'], users: [] },
      assignee: 'li.na',
    };
    const result = alarms.chase('alm_1', chase, 'step 1', 7_000);
    expect(result.ok).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'alarm.chased', timestamp: new Date(7_000).toISOString() });
    expect(events.at(-1)?.data.alarm).toMatchObject({ assignee: 'li.na', chase });
    expect(alarms.book.history('alm_1').at(-1)).toMatchObject({ by: null, note: 'step 1' });
  });
});

describe('the store: one commit per step', () => {
  it('loads the book with MAX_CLOSED resolved alarms, so a restart goes on with the same alarms and counts them open', async () => {
    const before = createAlarmBook({ newAlarmId: () => 'alm_kept' });
    before.apply(raise('dc-01', 'orange', 1_000));
    const mem = memoryStore(before.snapshot());
    const { alarms, open } = setup({ store: mem.store });
    expect(mem.state.loadedWith).toBe(MAX_CLOSED);
    expect(MAX_CLOSED).toBe(10_000);
    expect(alarms.book.get('alm_kept')).toMatchObject({ severity: 'orange', state: 'active' });
    expect(await open()).toMatchObject({ orange: 1 });
  });

  it('records the transitions with their flapping record inside the commit, and only then delivers them', () => {
    const mem = memoryStore();
    const { alarms, events } = setup({ store: mem.store });
    let seen: string[] = [];
    alarms.onEvent(() => {
      seen = [...mem.log];
    });
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    expect(seen).toEqual(['begin', 'record 1']);
    expect(mem.log).toEqual(['begin', 'record 1', 'commit']);
    expect(mem.recorded).toEqual([
      { type: 'alarm.raised', alarm: 'alm_1', held: undefined, flap: alarms.book.flapOf('site-a/dc-01/hopper_temp_high') },
    ]);
    expect(mem.recorded[0]?.flap).toBeDefined();
    expect(events).toHaveLength(1);
  });

  it('a step with no transition records nothing and delivers nothing', () => {
    const mem = memoryStore();
    const { alarms, events } = setup({ store: mem.store });
    alarms.apply([clear('dc-01', 1_000)]);
    alarms.acknowledge('alm_3', 'duty', null);
    expect(mem.log).toEqual(['begin', 'commit', 'begin', 'commit']);
    expect(events).toEqual([]);
  });

  it('a store that cannot write stops the gateway: logged as fatal, told, thrown, and nothing delivered', () => {
    const mem = memoryStore();
    const failures: Error[] = [];
    const { alarms, events, logged } = setup({ store: mem.store, onStoreFailure: (error) => failures.push(error) });
    mem.state.failNext = true;
    expect(() => alarms.apply([raise('dc-01', 'orange', 1_000)])).toThrow('SQLITE_FULL');
    expect(failures.map((error) => error.message)).toEqual(['SQLITE_FULL: database or disk is full']);
    expect(logged.filter((entry) => entry.msg === 'alarm store failed')).toEqual([
      expect.objectContaining({ level: 60, err: expect.objectContaining({ message: 'SQLITE_FULL: database or disk is full' }) }),
    ]);
    // the event was given to the listeners inside the failed commit (their rows went with the rollback); a store
    // failure ends the process, and nothing of it was told to those after the commit (next test)
    expect(mem.log).toEqual(['begin', 'record 1', 'rollback']);
    expect(events).toHaveLength(1);
  });

  it('tells onCommitted listeners each event once its commit is done, in order; nothing of a commit that failed', () => {
    const mem = memoryStore();
    const { alarms, events } = setup({ store: mem.store, onStoreFailure: () => undefined });
    const committed: Array<{ id: string; log: string[] }> = [];
    alarms.onCommitted((event) => committed.push({ id: event.id, log: [...mem.log] }));
    alarms.apply([raise('dc-01', 'orange', 1_000), raise('dc-02', 'red', 1_000)]);
    alarms.acknowledge('alm_1', 'duty', null);
    expect(committed.map((told) => told.id)).toEqual(events.map((event) => event.id));
    expect(committed).toHaveLength(3);
    // each told after the commit of its step, none inside it
    expect(committed.map((told) => told.log.at(-1))).toEqual(['commit', 'commit', 'commit']);
    mem.state.failNext = true;
    expect(() => alarms.apply([raise('dc-03', 'orange', 2_000)])).toThrow('SQLITE_FULL');
    expect(events).toHaveLength(4);
    expect(committed).toHaveLength(3);
  });

  it('an onCommitted listener that throws is logged; the others are still told, and the step stands (no store failure)', () => {
    const mem = memoryStore();
    const failures: Error[] = [];
    const { alarms, logged } = setup({ store: mem.store, onStoreFailure: (error) => failures.push(error) });
    const told: string[] = [];
    alarms.onCommitted(() => {
      throw new Error('SQLITE_BUSY: a listener of its own');
    });
    alarms.onCommitted((event) => told.push(event.id));
    expect(() => alarms.apply([raise('dc-01', 'orange', 1_000)])).not.toThrow();
    expect(told).toEqual(['evt_1']);
    expect(failures).toEqual([]);
    expect(logged.filter((entry) => entry.msg === 'alarm listener failed')).toHaveLength(1);
    expect(alarms.book.get('alm_1')).toMatchObject({ state: 'active' });
  });

  it('without a store, tells onCommitted listeners after the step, what the book did', () => {
    const { alarms, events } = setup();
    const committed: string[] = [];
    alarms.onCommitted((event) => committed.push(`${event.type} ${event.data.alarm.id}`));
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    expect(committed).toEqual(['alarm.raised alm_1']);
    expect(events.map((event) => event.id)).toEqual(['evt_1']);
  });

  it('a store failure without onStoreFailure still throws', () => {
    const mem = memoryStore();
    const { alarms } = setup({ store: mem.store });
    mem.state.failNext = true;
    expect(() => alarms.acknowledge('alm_1', 'duty', null)).toThrow('SQLITE_FULL');
  });

  it('changes applied with their inbox id are taken out of the inbox in the same commit; without an id they are not', () => {
    const mem = memoryStore();
    const taken: number[] = [];
    const inbox: AlarmInbox = {
      put: () => 0,
      waiting: () => null,
      taken: (upTo) => {
        mem.log.push(`taken ${upTo}`);
        taken.push(upTo);
      },
    };
    const { alarms } = setup({ store: mem.store, inbox });
    alarms.apply([raise('dc-01', 'orange', 1_000)], 7);
    expect(mem.log).toEqual(['begin', 'taken 7', 'record 1', 'commit']);
    alarms.apply([clear('dc-01', 2_000)]);
    alarms.apply([clear('dc-02', 3_000)], 0);
    expect(taken).toEqual([7, 0]);
  });

  it('recover applies what the inbox still holds, once, and says how many; nothing without an inbox or with it empty', () => {
    const waiting: { changes: VerdictChange[]; upTo: number } | null = {
      changes: [raise('dc-01', 'orange', 1_000), raise('dc-02', 'yellow', 1_000)],
      upTo: 12,
    };
    let left: typeof waiting | null = waiting;
    const taken: number[] = [];
    const inbox: AlarmInbox = { put: () => 0, waiting: () => left, taken: (upTo) => taken.push(upTo) };
    const { alarms, types } = setup({ inbox });
    expect(alarms.recover()).toBe(2);
    expect(taken).toEqual([12]);
    expect(types()).toEqual(['alarm.raised', 'alarm.raised']);
    left = null;
    expect(alarms.recover()).toBe(0);
    expect(setup().alarms.recover()).toBe(0);
  });

  it("times each delivered transition from its reading's arrival: not one made by time, a shelved one, or one replayed after a restart", async () => {
    let waiting: { changes: VerdictChange[]; upTo: number } | null = {
      changes: [{ ...raise('dc-09', 'orange', 1_000), receivedAt: 1_000 }],
      upTo: 1,
    };
    const inbox: AlarmInbox = {
      put: () => 0,
      waiting: () => waiting,
      taken: () => {
        waiting = null;
      },
    };
    const { alarms, clock, events, decisions } = setup({ inbox });
    // replayed after a restart: raised, but its reading came before the outage, not timed
    expect(alarms.recover()).toBe(1);
    expect(await decisions()).toEqual({ count: 0, sum: 0 });

    const t = clock.t;
    alarms.apply([
      { ...raise('dc-01', 'orange', t - 10), receivedAt: t - 7 },
      { ...raise('dc-02', 'yellow', t - 300), receivedAt: t - 250 },
      // a change of time (a delay, silence): no reading to time it from
      raise('dc-03', 'red', t),
    ]);
    expect(events.slice(1).map((e) => [e.type, e.data.alarm.device])).toEqual([
      ['alarm.raised', 'dc-01'],
      ['alarm.raised', 'dc-02'],
      ['alarm.raised', 'dc-03'],
    ]);
    let timed = await decisions();
    expect(timed.count).toBe(2);
    expect(timed.sum).toBeCloseTo(0.257, 9);

    // two readings of one batch moving one alarm: each transition timed from the first of them
    clock.t += 1_000;
    alarms.apply([
      { ...raise('dc-01', 'red', clock.t - 40), receivedAt: clock.t - 30 },
      { ...clear('dc-01', clock.t - 20), receivedAt: clock.t - 20 },
    ]);
    expect(events.slice(4).map((e) => e.type)).toEqual(['alarm.escalated', 'alarm.cleared']);
    timed = await decisions();
    expect(timed.count).toBe(4);
    expect(timed.sum).toBeCloseTo(0.257 + 2 * 0.03, 9);

    // shelved: the clear is recorded, not delivered, so not timed
    const alarm = events.find((e) => e.data.alarm.device === 'dc-02')?.data.alarm.id as string;
    alarms.record((at) => {
      const result = alarms.book.shelving.shelve(
        { id: 'shf_1', scope: 'alarm', alarm, reason: 'noisy', by: 'duty', from: at, until: at + HOUR, holdsRed: false },
        at,
      );
      return { result: result.ok, transitions: result.ok ? result.transitions : [] };
    });
    clock.t += 1_000;
    alarms.apply([{ ...clear('dc-02', clock.t - 5), receivedAt: clock.t - 5 }]);
    expect(await decisions()).toEqual(timed);
  });

  it('times nothing on a node of a cluster (its readings may have arrived at another node, on its clock)', async () => {
    const { alarms, clock, events, decisions } = setup({ timesDecisions: false });
    alarms.apply([{ ...raise('dc-01', 'orange', clock.t - 10), receivedAt: clock.t - 7 }]);
    expect(events.map((e) => e.type)).toEqual(['alarm.raised']);
    expect(await decisions()).toEqual({ count: 0, sum: 0 });
  });

  it('a held transition (a shelved alarm) is recorded with its shelf, not delivered; the shelf is saved in the commit', () => {
    const mem = memoryStore();
    const { alarms, types } = setup({ store: mem.store });
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    const shelved = alarms.record((at) => {
      const result = alarms.book.shelving.shelve(
        { id: 'shf_1', scope: 'alarm', alarm: 'alm_1', reason: 'noisy', by: 'duty', from: at, until: at + HOUR, holdsRed: false },
        at,
      );
      return { result: result.ok, transitions: result.ok ? result.transitions : [] };
    });
    expect(shelved).toBe(true);
    expect(mem.shelves.map((saved) => saved.map((shelf) => shelf.id))).toEqual([['shf_1']]);
    alarms.apply([clear('dc-01', 10 * HOUR + 1_000)]);
    expect(types()).toEqual(['alarm.raised', 'alarm.shelved']);
    expect(mem.recorded.map((r) => [r.type, r.held])).toEqual([
      ['alarm.raised', undefined],
      ['alarm.shelved', undefined],
      ['alarm.cleared', 'shf_1'],
    ]);
    // only steps that changed a shelf save shelves
    expect(mem.shelves).toHaveLength(1);
  });

  it('an inhibitor that starts or ends saves what changed in the inhibition state in the commit, also when no alarm moves', () => {
    const mem = memoryStore();
    const { alarms } = setup({ store: mem.store });
    alarms.apply([raise('dc-01', 'orange', 1_000)]);
    expect(mem.inhibition).toEqual([]);
    const silent = { ...raise('dc-02', 'yellow', 2_000, 'device_silent'), inhibits: { scope: 'device' as const } };
    alarms.apply([silent]);
    expect(mem.inhibition).toHaveLength(1);
    const held = mem.log.length;
    alarms.apply([raise('dc-02', 'orange', 3_000)]);
    expect(mem.log.slice(held)).toEqual(['begin', 'inhibition', 'commit']);
    expect(mem.inhibition.at(-1)).toMatchObject({
      ended: [],
      inhibitors: [],
      held: [{ change: { key: 'site-a/dc-02/hopper_temp_high', at: 3_000 } }],
      recent: [{ key: 'site-a/dc-02/hopper_temp_high' }],
    });
  });

  it('tick runs the book at the time given and prunes resolved alarms past retention at most hourly', () => {
    const mem = memoryStore();
    mem.state.pruneAnswer = 3;
    const { alarms, logged } = setup({ store: mem.store, retentionMs: 24 * HOUR });
    alarms.tick(30 * HOUR);
    alarms.tick(30 * HOUR + HOUR - 1);
    expect(mem.pruned).toEqual([6 * HOUR]);
    mem.state.pruneAnswer = 0;
    alarms.tick(31 * HOUR);
    expect(mem.pruned).toEqual([6 * HOUR, 7 * HOUR]);
    expect(logged.filter((entry) => entry.msg === 'resolved alarms past retention removed').map((entry) => entry.alarms)).toEqual([3]);
  });

  it('without a retention, or without a store, nothing is pruned', () => {
    const mem = memoryStore();
    setup({ store: mem.store }).alarms.tick(30 * HOUR);
    expect(mem.pruned).toEqual([]);
    expect(() => setup({ retentionMs: HOUR }).alarms.tick(30 * HOUR)).not.toThrow();
  });

  it('tick delivers what the book does over time (a flapping alarm goes quiet)', () => {
    const { alarms, types } = setup();
    for (let i = 0; i < 6; i += 1) alarms.apply([i % 2 === 0 ? raise('dc-01', 'orange', i * 1_000) : clear('dc-01', i * 1_000)]);
    expect(types()).toContain('alarm.flapping');
    const before = types().length;
    alarms.tick(6 * HOUR);
    expect(types().slice(before)).toContain('alarm.unflapped');
  });
});
