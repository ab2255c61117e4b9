import { type Alarm, type AlarmChase, formatDuration } from '../../../rules/src/index.js';
import type { EscalationPolicy, EscalationStep } from '../config/escalation-schema.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { AlarmService } from './alarm-service.js';
import { chaseFacts, type PlannedStep, planChase, policyFor, stepsFired } from './escalation-plan.js';
import type { EscalationState } from './escalation-state.js';

export interface EscalationService {
  /** Fires the steps due at `now` (the ticker calls it after the alarm book's own tick, so overdue is known). */
  tick(now: number): void;
  /** The escalation of an alarm, or null when no policy takes it. */
  stateOf(alarm: Alarm, now: number): EscalationState | null;
}

export interface EscalationServiceDeps {
  policies: readonly EscalationPolicy[];
  alarms: AlarmService;
  metrics: GatewayMetrics;
  log: Logger;
  /** Names of the users the gateway knows at start-up; a step naming another is reported (it is still recorded). */
  knownUsers?: readonly string[];
}

/** `step 1 of red-unacked: not acknowledged 5 min after it was raised; notifies …` — the history's note of a step. */
function noteOf(policy: EscalationPolicy, step: EscalationStep, planned: PlannedStep, assigns: boolean): string {
  const after = formatDuration(step.after);
  const why =
    step.on === 'overdue' ? `overdue (${after} after the deadline), not ${step.unless}` : `not ${step.unless} ${after} after it was raised`;
  const whom = [...step.notify.subscribers, ...step.notify.users];
  return `step ${planned.step} of ${policy.id}: ${why}${whom.length > 0 ? `; notifies ${whom.join(', ')}` : ''}${assigns ? `; assigns ${step.assign}` : ''}`;
}

/**
 * Escalation when nobody acts (催办): at each tick, every open alarm that a policy takes gets the steps due for it,
 * each recorded and delivered as `alarm.chased` through the alarm service (store, webhooks, live feed). What fired
 * is read back from the alarm and its history, so a restart repeats no step and fires those that fell due meanwhile.
 */
export function createEscalationService(deps: EscalationServiceDeps): EscalationService {
  const { policies, alarms } = deps;
  if (deps.knownUsers) {
    const known = new Set(deps.knownUsers);
    for (const policy of policies)
      for (const step of policy.steps)
        for (const user of [...step.notify.users, ...(step.assign === undefined ? [] : [step.assign])])
          if (!known.has(user)) deps.log.warn({ policy: policy.id, user }, 'escalation names a user the gateway does not know');
  }

  /** Fires a step; false when the book refused it (the alarm was resolved meanwhile). */
  const fire = (alarm: Alarm, policy: EscalationPolicy, planned: PlannedStep, now: number): boolean => {
    const step = policy.steps[planned.step - 1] as EscalationStep;
    // a step assigns only an alarm nobody is responsible for yet: the dispatcher's choice stands
    const assigns = step.assign !== undefined && !alarm.assignee;
    const chase: AlarmChase = {
      policy: policy.id,
      step: planned.step,
      condition: planned.condition,
      dueAt: new Date(planned.dueAt ?? now).toISOString(),
      notify: { subscribers: [...step.notify.subscribers], users: [...step.notify.users] },
      ...(assigns ? { assignee: step.assign } : {}),
    };
    const result = alarms.chase(alarm.id, chase, noteOf(policy, step, planned, assigns), now);
    if (!result.ok) return false;
    deps.metrics.alarmChaseSteps.inc({ policy: policy.id, condition: planned.condition });
    deps.log.info({ alarm: alarm.id, policy: policy.id, step: planned.step, condition: planned.condition }, 'alarm chased');
    return true;
  };

  return {
    tick(now) {
      if (policies.length === 0) return;
      for (const alarm of alarms.book.list({ state: 'open' })) {
        const policy = policyFor(policies, alarm);
        if (!policy) continue;
        const history = alarms.book.history(alarm.id);
        const fired = stepsFired(alarm, history, policy.id);
        // one step at a time, each planned from the alarm as the step before left it: after a restart several may be
        // due at once, and a step that assigns the alarm makes a later `unless: assigned` step pass
        for (;;) {
          const [planned] = planChase(policy.steps, chaseFacts(alarm, history), fired, now).fire;
          if (!planned || !fire(alarm, policy, planned, now)) break;
          fired.add(planned.step);
        }
      }
    },
    stateOf(alarm, now) {
      const policy = policyFor(policies, alarm);
      if (!policy) return null;
      const history = alarms.book.history(alarm.id);
      const fired = stepsFired(alarm, history, policy.id);
      const plan = planChase(policy.steps, chaseFacts(alarm, history), fired, now);
      // steps due but not yet fired (the next tick fires them) come first
      const next = plan.fire[0] ?? plan.next;
      const step = next ? (policy.steps[next.step - 1] as EscalationStep) : null;
      return {
        policy: policy.id,
        stepsDone: fired.size,
        steps: policy.steps.length,
        next:
          next && step
            ? {
                step: next.step,
                condition: next.condition,
                dueAt: next.dueAt === null ? null : new Date(next.dueAt).toISOString(),
                waitsFor: step.unless,
              }
            : null,
      };
    },
  };
}
