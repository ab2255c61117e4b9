import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alarm, AlarmTransition } from '../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../test/support/hopper-alarm.js';
import type { EscalationPolicy, EscalationStep } from '../config/escalation-schema.js';
import { type ChaseFacts, chaseFacts, type PlannedStep, planChase, policyFor, stepsDone } from './escalation-plan.js';

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

describe('planChase: which escalation steps are due', () => {
  const policy = [raised(5 * MIN), raised(15 * MIN), overdue()];

  it('red not acknowledged within 5 min: step 1 at 5 min, step 2 at 15, the overdue step at the deadline', () => {
    expect(planChase(policy, facts(), 0, 5 * MIN - 1)).toEqual({
      fire: [],
      next: { step: 1, condition: 'not_acknowledged', dueAt: 5 * MIN },
    });
    expect(numbers(planChase(policy, facts(), 0, 5 * MIN).fire)).toEqual([1]);
    expect(planChase(policy, facts(), 1, 10 * MIN).next).toEqual({ step: 2, condition: 'not_acknowledged', dueAt: 15 * MIN });
    // the deadline is known but the alarm is not overdue yet (the book's tick says so): it waits
    const withDeadline = facts({ deadline: 60 * MIN });
    expect(planChase(policy, withDeadline, 2, 61 * MIN)).toEqual({ fire: [], next: { step: 3, condition: 'overdue', dueAt: 60 * MIN } });
    expect(planChase(policy, { ...withDeadline, overdue: true }, 2, 61 * MIN).fire).toEqual([
      { step: 3, condition: 'overdue', dueAt: 60 * MIN },
    ]);
  });

  it('acknowledged in time: the steps that wait for it never fire, the overdue step still does', () => {
    const acked = facts({ acknowledged: true, deadline: 60 * MIN });
    expect(planChase(policy, acked, 0, 30 * MIN)).toEqual({ fire: [], next: { step: 3, condition: 'overdue', dueAt: 60 * MIN } });
    expect(numbers(planChase(policy, { ...acked, overdue: true }, 0, 60 * MIN).fire)).toEqual([3]);
    // resolved: nothing at all
    expect(planChase(policy, facts({ resolved: true, overdue: true, deadline: 0 }), 0, 99 * MIN)).toEqual({ fire: [], next: null });
  });

  it('counts from when the gateway raised the alarm: one raised from a backlog hours late is not chased at once', () => {
    const late: Alarm = { ...HOPPER_ALARM, raisedAt: '2026-11-22T14:30:00.000Z', reportedAt: '2026-11-22T18:00:00.000Z' };
    expect(chaseFacts(late).raisedAt).toBe(Date.parse('2026-11-22T18:00:00.000Z'));
    expect(chaseFacts({ ...late, reportedAt: undefined }).raisedAt).toBe(Date.parse('2026-11-22T14:30:00.000Z'));
  });

  it('after a restart, every step that fell due fires, in order; those done do not again', () => {
    expect(numbers(planChase(policy, facts(), 0, 20 * MIN).fire)).toEqual([1, 2]);
    expect(numbers(planChase(policy, facts(), 1, 20 * MIN).fire)).toEqual([2]);
    expect(planChase(policy, facts(), 3, 99 * MIN)).toEqual({ fire: [], next: null });
  });

  it('nothing fires while the alarm is shelved; a step that fell due meanwhile fires once the shelf ends', () => {
    expect(planChase(policy, facts({ shelved: true }), 0, 20 * MIN)).toEqual({
      fire: [],
      next: { step: 1, condition: 'not_acknowledged', dueAt: 5 * MIN },
    });
    expect(numbers(planChase(policy, facts(), 0, 20 * MIN).fire)).toEqual([1, 2]);
  });

  it('a step that waits for assignment is stopped by an assignment, not by an acknowledgement', () => {
    const steps = [raised(MIN, 'assigned')];
    expect(planChase(steps, facts({ acknowledged: true }), 0, MIN).fire).toEqual([{ step: 1, condition: 'not_assigned', dueAt: MIN }]);
    expect(planChase(steps, facts({ assigned: true }), 0, MIN).fire).toEqual([]);
  });

  it('property: over any timeline, steps fire in order, at most once each, never early, never while shelved and never once their action was taken', () => {
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
          let done = 0;
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
              done = planned.step;
            }
          }
          // in order, each at most once
          for (let i = 1; i < fired.length; i += 1) expect(fired[i] as number).toBeGreaterThan(fired[i - 1] as number);
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
          const steps = [...afters].sort((a, b) => a - b).map((after) => raised(after));
          const fired = numbers(planChase(steps, facts(), 0, now).fire);
          expect(fired).toEqual(steps.flatMap((s, i) => (s.after <= now ? [i + 1] : [])));
        },
      ),
    );
  });
});

describe('policyFor and stepsDone: which policy, and how far it got', () => {
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

  it('counts the steps of that policy that fired, from the alarm or, when another policy chased it last, from its history', () => {
    const chased = (policyId: string, step: number): AlarmTransition =>
      ({ type: 'alarm.chased', alarm: { chase: { policy: policyId, step } } }) as AlarmTransition;
    expect(stepsDone(alarm(), [], 'red')).toBe(0);
    const history = [chased('orange', 1), chased('red', 1), chased('red', 2), chased('orange', 2)];
    const last = { policy: 'orange', step: 2 } as Alarm['chase'];
    expect(stepsDone(alarm({ chase: last }), history, 'orange')).toBe(2);
    expect(stepsDone(alarm({ chase: last }), history, 'red')).toBe(2);
    expect(stepsDone(alarm({ chase: last }), history, 'other')).toBe(0);
  });
});
