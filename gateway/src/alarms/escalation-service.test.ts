import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type AlarmEvent, createAlarmBook } from '../../../rules/src/index.js';
import { hopperRaise } from '../../../test/support/hopper-alarm.js';
import { escalationSchema } from '../config/escalation-schema.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createAlarmService } from './alarm-service.js';
import { createEscalationService } from './escalation-service.js';

const MIN = 60_000;
const raise = hopperRaise;

const POLICIES = escalationSchema.parse([
  {
    id: 'red',
    match: { severities: ['red'] },
    steps: [
      { after: '5m', notify: { subscribers: ['manager'], users: ['zhang.wei'] } },
      { after: '15m', unless: 'assigned', notify: { subscribers: ['dispatch'] }, assign: 'li.na' },
    ],
  },
]);

function setup(knownUsers?: string[], policies = POLICIES) {
  const logged: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged.push(JSON.parse(String(chunk)));
      done();
    },
  });
  let alarmIds = 0;
  let eventIds = 0;
  const metrics = createGatewayMetrics({ processMetrics: false });
  const alarms = createAlarmService({
    book: createAlarmBook({ newAlarmId: () => `alm_${++alarmIds}` }),
    now: () => 0,
    newEventId: () => `evt_${++eventIds}`,
    metrics,
    log: createLogger('silent'),
  });
  const events: AlarmEvent[] = [];
  alarms.onEvent((event) => events.push(event));
  const escalation = createEscalationService({
    policies,
    alarms,
    metrics,
    log: createLogger('warn', sink),
    ...(knownUsers ? { knownUsers } : {}),
  });
  const chased = () => events.filter((e) => e.type === 'alarm.chased');
  return { alarms, escalation, events, chased, metrics, logged };
}

describe('the escalation service: steps fired through the alarm service', () => {
  it('fires each due step once, as alarm.chased with the step, the note and the assignee; the metric counts them', async () => {
    const { alarms, escalation, chased, metrics } = setup();
    alarms.apply([raise('dc-01', 'red', 0)]);
    escalation.tick(5 * MIN - 1);
    expect(chased()).toEqual([]);
    escalation.tick(5 * MIN);
    escalation.tick(6 * MIN);
    expect(chased().map((e) => [e.data.alarm.chase?.step, e.timestamp])).toEqual([[1, new Date(5 * MIN).toISOString()]]);
    expect(alarms.book.history('alm_1').at(-1)?.note).toBe(
      'step 1 of red: not acknowledged 5 min after it was raised; notifies manager, zhang.wei',
    );
    escalation.tick(15 * MIN);
    const step2 = chased()[1]?.data.alarm;
    expect(step2).toMatchObject({ seq: 3, assignee: 'li.na', chase: { step: 2, condition: 'not_assigned', assignee: 'li.na' } });
    expect(alarms.book.history('alm_1').at(-1)?.note).toBe(
      'step 2 of red: not assigned 15 min after it was raised; notifies dispatch; assigns li.na',
    );
    escalation.tick(99 * MIN);
    expect(chased()).toHaveLength(2);
    const counted = await metrics.registry.getSingleMetricAsString('gateway_alarm_chase_steps_total');
    expect(counted).toContain('gateway_alarm_chase_steps_total{policy="red",condition="not_acknowledged"} 1');
    expect(counted).toContain('gateway_alarm_chase_steps_total{policy="red",condition="not_assigned"} 1');
  });

  it('chases only alarms a policy takes, not a resolved one, and tells where an alarm stands', () => {
    const { alarms, escalation, chased } = setup();
    alarms.apply([raise('dc-01', 'orange', 0), raise('dc-02', 'red', 0)]);
    expect(escalation.stateOf(alarms.book.get('alm_1')!, 0)).toBeNull();
    const red = alarms.book.get('alm_2')!;
    expect(escalation.stateOf(red, 0)).toEqual({
      policy: 'red',
      stepsDone: 0,
      steps: 2,
      next: { step: 1, condition: 'not_acknowledged', dueAt: new Date(5 * MIN).toISOString(), waitsFor: 'acknowledged' },
    });
    // due but not yet fired (no tick since): shown as the next
    expect(escalation.stateOf(red, 20 * MIN)?.next?.step).toBe(1);
    escalation.tick(20 * MIN);
    expect(chased().map((e) => [e.data.alarm.id, e.data.alarm.chase?.step])).toEqual([
      ['alm_2', 1],
      ['alm_2', 2],
    ]);
    expect(escalation.stateOf(red, 20 * MIN)).toMatchObject({ stepsDone: 2, next: null });

    alarms.apply([raise('dc-03', 'red', 30 * MIN)]);
    const id = alarms.book.list({ device: 'dc-03' })[0]?.id as string;
    alarms.apply([{ ...raise('dc-03', 'red', 31 * MIN), verdict: { status: 'false' } }]);
    expect(alarms.resolve(id, 'duty', null).ok).toBe(true);
    escalation.tick(99 * MIN);
    expect(chased().filter((e) => e.data.alarm.id === id)).toEqual([]);
  });

  it("an alarm in an operator's maintenance window that escalates to red is chased from its raise, like any red alarm", () => {
    const { alarms, escalation, chased, events } = setup();
    alarms.record((at) => {
      const shelved = alarms.book.shelving.shelve(
        {
          id: 'shf_1',
          scope: 'device',
          site: 'site-a',
          device: 'dc-01',
          reason: 'bags',
          by: 'op',
          from: at,
          until: 240 * MIN,
          holdsRed: false,
        },
        at,
      );
      return { result: shelved, transitions: shelved.ok ? shelved.transitions : [] };
    });
    alarms.apply([raise('dc-01', 'orange', 0)]);
    alarms.apply([raise('dc-01', 'red', 1 * MIN)]);
    expect(events.map((event) => event.type)).toEqual(['alarm.unshelved', 'alarm.raised']);
    escalation.tick(5 * MIN);
    expect(chased().map((event) => [event.data.alarm.id, event.data.alarm.chase?.step])).toEqual([['alm_1', 1]]);
  });

  it('steps due together fire one at a time: one that assigns the alarm passes over a later step waiting for an assignee', () => {
    const policies = escalationSchema.parse([
      {
        id: 'red',
        match: { severities: ['red'] },
        steps: [
          { after: '5m', notify: { users: ['zhang.wei'] }, assign: 'li.na' },
          { after: '15m', unless: 'assigned', notify: { subscribers: ['dispatch'] } },
        ],
      },
    ]);
    const { alarms, escalation, chased } = setup(undefined, policies);
    alarms.apply([raise('dc-01', 'red', 0)]);
    // the first tick after a long stop: both steps are due
    escalation.tick(20 * MIN);
    expect(chased().map((event) => [event.data.alarm.chase?.step, event.data.alarm.assignee])).toEqual([[1, 'li.na']]);
    expect(escalation.stateOf(alarms.book.get('alm_1')!, 20 * MIN)).toMatchObject({ stepsDone: 1, next: null });
  });

  it("a step that assigns leaves the dispatcher's assignment as it is: it notifies, it does not take the alarm away", () => {
    const policies = escalationSchema.parse([
      { id: 'red', match: { severities: ['red'] }, steps: [{ after: '15m', notify: { users: ['zhang.wei'] }, assign: 'li.na' }] },
    ]);
    const { alarms, escalation, chased } = setup(undefined, policies);
    alarms.apply([raise('dc-01', 'red', 0)]);
    expect(alarms.assign('alm_1', 'wang.fang', 'dispatcher', null).ok).toBe(true);
    escalation.tick(15 * MIN);
    const [step] = chased();
    expect(step?.data.alarm.assignee).toBe('wang.fang');
    expect(step?.data.alarm.chase?.assignee).toBeUndefined();
    expect(alarms.book.history('alm_1').at(-1)?.note).toBe(
      'step 1 of red: not acknowledged 15 min after it was raised; notifies zhang.wei',
    );
  });

  it('a return not acknowledged is chased by the step its first occurrence passed over (acknowledged in time)', () => {
    const { alarms, escalation, chased } = setup();
    alarms.apply([raise('dc-01', 'red', 0)]);
    expect(alarms.acknowledge('alm_1', 'duty', null).ok).toBe(true);
    escalation.tick(15 * MIN); // step 1 passed over (acknowledged), step 2 fires (not assigned)
    alarms.apply([{ ...raise('dc-01', 'red', 20 * MIN), verdict: { status: 'false' } }]);
    alarms.apply([raise('dc-01', 'red', 30 * MIN)]);
    expect(alarms.book.get('alm_1')).toMatchObject({ state: 'active', acknowledged: false });
    escalation.tick(34 * MIN);
    escalation.tick(35 * MIN);
    expect(chased().map((e) => [e.data.alarm.chase?.step, e.timestamp])).toEqual([
      [2, new Date(15 * MIN).toISOString()],
      [1, new Date(35 * MIN).toISOString()],
    ]);
    escalation.tick(99 * MIN);
    expect(chased()).toHaveLength(2);
  });

  it('a policy edited between restarts: the steps of the new one that have not fired still fire', () => {
    const before = escalationSchema.parse([
      {
        id: 'red',
        match: { severities: ['red'] },
        steps: [
          { after: '5m', notify: { users: ['a'] } },
          { after: '10m', notify: { users: ['b'] } },
          { after: '15m', unless: 'resolved', notify: { users: ['c'] } },
        ],
      },
    ]);
    const first = setup(undefined, before);
    first.alarms.apply([raise('dc-01', 'red', 0)]);
    first.escalation.tick(5 * MIN);
    expect(first.alarms.acknowledge('alm_1', 'duty', null).ok).toBe(true);
    first.escalation.tick(15 * MIN); // steps 1 and 3 fired, 2 passed over
    const after = escalationSchema.parse([
      {
        id: 'red',
        match: { severities: ['red'] },
        steps: [
          { after: '5m', notify: { users: ['a'] } },
          { after: '20m', unless: 'resolved', notify: { users: ['d'] } },
        ],
      },
    ]);
    const again = createEscalationService({ policies: after, alarms: first.alarms, metrics: first.metrics, log: createLogger('silent') });
    again.tick(20 * MIN);
    expect(first.chased().map((e) => e.data.alarm.chase?.notify.users)).toEqual([['a'], ['c'], ['d']]);
  });

  it('a restart (a new service on the same book) goes on from the steps the alarm records', () => {
    const first = setup();
    first.alarms.apply([raise('dc-01', 'red', 0)]);
    first.escalation.tick(6 * MIN);
    const again = createEscalationService({
      policies: POLICIES,
      alarms: first.alarms,
      metrics: first.metrics,
      log: createLogger('silent'),
    });
    again.tick(7 * MIN);
    again.tick(16 * MIN);
    expect(first.chased().map((e) => e.data.alarm.chase?.step)).toEqual([1, 2]);
  });

  it('warns at start about users the gateway does not know', () => {
    const { logged } = setup(['zhang.wei']);
    expect(logged.map((entry) => [entry.msg, entry.user])).toEqual([['escalation names a user the gateway does not know', 'li.na']]);
  });
});
