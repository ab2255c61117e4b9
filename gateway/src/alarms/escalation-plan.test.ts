import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alarm, AlarmTransition } from '../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../test/support/hopper-alarm.js';
import type { EscalationPolicy, EscalationStep } from '../config/escalation-schema.js';
import { type ChaseFacts, chaseFacts, type PlannedStep, planChase, policyFor, stepsFired } from './escalation-plan.js';

const MIN = 60_000;
const raised = (after: number, unless: EscalationStep['unless'] = 'acknowledged'): EscalationStep => ({
  on: 'raised',
  after,
  unless,
  notify: { subscribers: ['s'], users: [] },
});
const overdue = (after = 0): EscalationStep => ({ on: 'overdue', after, unless: 'resolved', notify: { subscribers: ['s'], users: [] } });
const facts = (over: Partial<ChaseFacts> = {}): ChaseFacts => ({
  raisedAt: 0,
  acknowledged: false,
  assigned: false,
  resolved: false,
  overdue: false,
  deadline: null,
  shelved: false,
  ...over,
});
const numbers = (steps: PlannedStep[]): number[] => steps.map((s) => s.step);
/** Steps 1‥n fired. */
const upTo = (n: number): Set<number> => new Set(Array.from({ length: n }, (_, i) => i + 1));

describe('planChase: which escalation steps are due', () => {
  const policy = [raised(5 * MIN), raised(15 * MIN), overdue()];

  it('red not acknowledged within 5 min: step 1 at 5 min, step 2 at 15, the overdue step at the deadline', () => {
    expect(planChase(policy, facts(), upTo(0), 5 * MIN - 1)).toEqual({
      fire: [],
      next: { step: 1, condition: 'not_acknowledged', dueAt: 5 * MIN },
    });
    expect(numbers(planChase(policy, facts(), upTo(0), 5 * MIN).fire)).toEqual([1]);
    expect(planChase(policy, facts(), upTo(1), 10 * MIN).next).toEqual({ step: 2, condition: 'not_acknowledged', dueAt: 15 * MIN });
    // the deadline is known but the alarm is not overdue yet (the book's tick says so): it waits
    const withDeadline = facts({ deadline: 60 * MIN });
    expect(planChase(policy, withDeadline, upTo(2), 61 * MIN)).toEqual({
      fire: [],
      next: { step: 3, condition: 'overdue', dueAt: 60 * MIN },
    });
    expect(planChase(policy, { ...withDeadline, overdue: true }, upTo(2), 61 * MIN).fire).toEqual([
      { step: 3, condition: 'overdue', dueAt: 60 * MIN },
    ]);
  });

  it('acknowledged in time: the steps that wait for it never fire, the overdue step still does', () => {
    const acked = facts({ acknowledged: true, deadline: 60 * MIN });
    expect(planChase(policy, acked, upTo(0), 30 * MIN)).toEqual({ fire: [], next: { step: 3, condition: 'overdue', dueAt: 60 * MIN } });
    expect(numbers(planChase(policy, { ...acked, overdue: true }, upTo(0), 60 * MIN).fire)).toEqual([3]);
    // resolved: nothing at all
    expect(planChase(policy, facts({ resolved: true, overdue: true, deadline: 0 }), upTo(0), 99 * MIN)).toEqual({ fire: [], next: null });
  });

  it('counts from when the gateway raised the alarm: one raised from a backlog hours late is not chased at once', () => {
    const late: Alarm = { ...HOPPER_ALARM, raisedAt: '2026-11-22T14:30:00.000Z', reportedAt: '2026-11-22T18:00:00.000Z' };
    expect(chaseFacts(late).raisedAt).toBe(Date.parse('2026-11-22T18:00:00.000Z'));
    expect(chaseFacts({ ...late, reportedAt: undefined }).raisedAt).toBe(Date.parse('2026-11-22T14:30:00.000Z'));
  });

  it('after a restart, every step that fell due fires, in order; those done do not again', () => {
    expect(numbers(planChase(policy, facts(), upTo(0), 20 * MIN).fire)).toEqual([1, 2]);
    expect(numbers(planChase(policy, facts(), upTo(1), 20 * MIN).fire)).toEqual([2]);
    expect(planChase(policy, facts(), upTo(3), 99 * MIN)).toEqual({ fire: [], next: null });
  });

  it('nothing fires while the alarm is shelved; a step that fell due meanwhile fires once the shelf ends', () => {
    expect(planChase(policy, facts({ shelved: true }), upTo(0), 20 * MIN)).toEqual({
      fire: [],
      next: { step: 1, condition: 'not_acknowledged', dueAt: 5 * MIN },
    });
    expect(numbers(planChase(policy, facts(), upTo(0), 20 * MIN).fire)).toEqual([1, 2]);
  });

  it('the overdue step fires at the deadline though a raised step is still hours away', () => {
    // 5 min, 8 h, and the day's deadline: raised at 20:00, deadline 23:59, overdue since
    const steps = [raised(5 * MIN), raised(8 * 60 * MIN), overdue()];
    const late = facts({ raisedAt: 0, deadline: 239 * MIN, overdue: true });
    expect(planChase(steps, late, upTo(1), 240 * MIN)).toEqual({
      fire: [{ step: 3, condition: 'overdue', dueAt: 239 * MIN }],
      next: { step: 2, condition: 'not_acknowledged', dueAt: 480 * MIN },
    });
    expect(planChase(steps, late, new Set([1, 3]), 240 * MIN).next).toEqual({ step: 2, condition: 'not_acknowledged', dueAt: 480 * MIN });
  });

  it('a step passed over (acknowledged in time) may fire once the alarm returns unacknowledged; one that fired does not again', () => {
    const steps = [raised(5 * MIN), raised(15 * MIN)];
    // acknowledged at 2 min: step 1 passed over; step 2 (waiting for an assignment here) fired at 15
    const afterReturn = facts({ raisedAt: 60 * MIN });
    expect(numbers(planChase(steps, afterReturn, new Set([2]), 65 * MIN).fire)).toEqual([1]);
    expect(planChase(steps, afterReturn, new Set([1, 2]), 99 * MIN)).toEqual({ fire: [], next: null });
  });

  it('a step that waits for assignment is stopped by an assignment, not by an acknowledgement', () => {
    const steps = [raised(MIN, 'assigned')];
    expect(planChase(steps, facts({ acknowledged: true }), upTo(0), MIN).fire).toEqual([
      { step: 1, condition: 'not_assigned', dueAt: MIN },
    ]);
    expect(planChase(steps, facts({ assigned: true }), upTo(0), MIN).fire).toEqual([]);
  });

  it('property: over any timeline, steps fire at most once each, never early, never while shelved and never once their action was taken', () => {
    const action = fc.constantFrom<EscalationStep['unless']>('acknowledged', 'assigned', 'resolved');
    const stepArb = fc.oneof(
      fc.record({ on: fc.constant('raised' as const), after: fc.integer({ min: 0, max: 30 }), unless: action }),
      fc.record({ on: fc.constant('overdue' as const), after: fc.integer({ min: 0, max: 30 }), unless: action }),
    );
    const never = fc.constant(Number.POSITIVE_INFINITY);
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 1, maxLength: 6 }),
        fc.record({
          acknowledgedAt: fc.oneof(never, fc.integer({ min: 0, max: 80 })),
          assignedAt: fc.oneof(never, fc.integer({ min: 0, max: 80 })),
          resolvedAt: fc.oneof(never, fc.integer({ min: 0, max: 80 })),
          deadline: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 60 })),
          shelvedFrom: fc.integer({ min: 0, max: 80 }),
          shelvedFor: fc.integer({ min: 0, max: 40 }),
        }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 30 }),
        (raw, times, gaps) => {
          const steps: EscalationStep[] = raw.map((s) => ({ ...s, notify: { subscribers: ['s'], users: [] } }));
          const factsAt = (t: number): ChaseFacts => ({
            raisedAt: 0,
            acknowledged: t >= times.acknowledgedAt,
            assigned: t >= times.assignedAt,
            resolved: t >= times.resolvedAt,
            overdue: times.deadline !== null && t >= times.deadline,
            deadline: times.deadline,
            shelved: t >= times.shelvedFrom && t < times.shelvedFrom + times.shelvedFor,
          });
          const done = new Set<number>();
          let now = 0;
          const fired: number[] = [];
          for (const gap of gaps) {
            now += gap;
            const at = factsAt(now);
            for (const planned of planChase(steps, at, done, now).fire) {
              const step = steps[planned.step - 1] as EscalationStep;
              // never once the awaited action was taken, never on a resolved alarm
              expect(at[step.unless]).toBe(false);
              expect(at.resolved).toBe(false);
              expect(at.shelved).toBe(false);
              // never before it is due; an overdue step only once the alarm is overdue
              expect(planned.dueAt).not.toBeNull();
              expect(now).toBeGreaterThanOrEqual(planned.dueAt as number);
              if (step.on === 'overdue') expect(at.overdue).toBe(true);
              fired.push(planned.step);
              done.add(planned.step);
            }
          }
          // each at most once
          expect(new Set(fired).size).toBe(fired.length);
        },
      ),
    );
  });

  it('property: a step due and not stopped is not skipped — it fires by the first tick at or after its due time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 200 }),
        (afters, now) => {
          // in any order of the policy: a step not yet due holds none back
          const steps = afters.map((after) => raised(after));
          const fired = numbers(planChase(steps, facts(), upTo(0), now).fire);
          const due = steps.flatMap((s, i) => (s.after <= now ? [i + 1] : []));
          expect(fired).toEqual(due.sort((a, b) => (afters[a - 1] as number) - (afters[b - 1] as number) || a - b));
        },
      ),
    );
  });
});

describe('policyFor and stepsFired: which policy, and what of it fired', () => {
  const alarm = (over: Partial<Alarm> = {}): Alarm => ({ site: 'plant-a', severity: 'red', profile: 'dust-collector', ...over }) as Alarm;
  const policy = (id: string, match: EscalationPolicy['match']): EscalationPolicy => ({ id, match, steps: [raised(MIN)] });

  it('the first policy whose match takes the alarm by site, current severity and profile', () => {
    const policies = [
      policy('plant-b-red', { sites: ['plant-b'], severities: ['red'] }),
      policy('dust', { profiles: ['dust-collector'], severities: ['red', 'orange'] }),
      policy('any', {}),
    ];
    expect(policyFor(policies, alarm({ site: 'plant-b' }))?.id).toBe('plant-b-red');
    expect(policyFor(policies, alarm())?.id).toBe('dust');
    expect(policyFor(policies, alarm({ severity: 'yellow' }))?.id).toBe('any');
    expect(policyFor(policies, alarm({ profile: 'power', site: 'plant-b', severity: 'orange' }))?.id).toBe('any');
    expect(policyFor(policies.slice(0, 2), alarm({ severity: 'blue' }))).toBeUndefined();
  });

  it('the steps of that policy that fired, from the history of the alarm', () => {
    const chased = (policyId: string, step: number): AlarmTransition =>
      ({ type: 'alarm.chased', alarm: { chase: { policy: policyId, step } } }) as AlarmTransition;
    expect(stepsFired(alarm(), [], 'red')).toEqual(new Set());
    const history = [chased('orange', 1), chased('red', 1), chased('red', 3), chased('orange', 2)];
    const last = { policy: 'orange', step: 2 } as Alarm['chase'];
    expect(stepsFired(alarm({ chase: last }), history, 'orange')).toEqual(new Set([1, 2]));
    expect(stepsFired(alarm({ chase: last }), history, 'red')).toEqual(new Set([1, 3]));
    expect(stepsFired(alarm({ chase: last }), history, 'other')).toEqual(new Set());
  });

  it('an alarm that returns is chased afresh: the steps of its earlier occurrence do not count', () => {
    const step = (type: AlarmTransition['type'], chase?: { policy: string; step: number }): AlarmTransition =>
      ({ type, alarm: { chase } }) as AlarmTransition;
    const history = [
      step('alarm.raised'),
      step('alarm.chased', { policy: 'red', step: 1 }),
      step('alarm.chased', { policy: 'red', step: 2 }),
    ];
    const last = { policy: 'red', step: 1 } as Alarm['chase'];
    expect(stepsFired(alarm({ chase: last }), history, 'red')).toEqual(new Set([1, 2]));
    const returned = [...history, step('alarm.cleared'), step('alarm.raised'), step('alarm.chased', { policy: 'red', step: 1 })];
    expect(stepsFired(alarm({ chase: last }), returned, 'red')).toEqual(new Set([1]));
  });

  it('an escalation that undid an acknowledgement gives the officer the step’s time to acknowledge the red; other steps and unacknowledged escalations keep the raise', () => {
    const at = (type: AlarmTransition['type'], ms: number): AlarmTransition => ({ type, at: ms, alarm: {} }) as AlarmTransition;
    const red = { ...HOPPER_ALARM, raisedAt: new Date(0).toISOString(), reportedAt: undefined } as Alarm;
    const acked = chaseFacts(red, [at('alarm.raised', 0), at('alarm.acknowledged', MIN), at('alarm.escalated', 120 * MIN)]);
    expect([acked.raisedAt, acked.ackAskedAt]).toEqual([0, 120 * MIN]);
    // nobody acknowledged: an orange↔red see-saw does not push its steps away
    const seesaw = [
      at('alarm.raised', 0),
      at('alarm.escalated', 10 * MIN),
      at('alarm.deescalated', 15 * MIN),
      at('alarm.escalated', 20 * MIN),
    ];
    expect(chaseFacts(red, seesaw).ackAskedAt).toBe(0);
    // a return is the newer demand
    const back = { ...red, raisedAt: new Date(9 * MIN).toISOString() };
    expect(chaseFacts(back, [at('alarm.acknowledged', MIN), at('alarm.escalated', 5 * MIN), at('alarm.raised', 9 * MIN)]).ackAskedAt).toBe(
      9 * MIN,
    );
    // the plan: the acknowledgement step counts from the escalation, a resolve step from the raise
    const steps = [raised(5 * MIN), raised(60 * MIN, 'resolved')];
    const plan = planChase(steps, facts({ raisedAt: 0, ackAskedAt: 120 * MIN }), new Set([2]), 121 * MIN);
    expect(plan).toEqual({ fire: [], next: { step: 1, condition: 'not_acknowledged', dueAt: 125 * MIN } });
    expect(numbers(planChase(steps, facts({ raisedAt: 0, ackAskedAt: 120 * MIN }), new Set(), 121 * MIN).fire)).toEqual([2]);
  });
});
