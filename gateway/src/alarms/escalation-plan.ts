import type { Alarm, AlarmChase, AlarmTransition } from '../../../rules/src/index.js';
import type { EscalationPolicy, EscalationStep } from '../config/escalation-schema.js';

/** What the escalation of one alarm depends on, at one moment (ms since the epoch for times). */
export interface ChaseFacts {
  /** When the gateway raised it (`reportedAt`, else `raisedAt`): steps `after` a raise count from here. */
  raisedAt: number;
  /**
   * When the acknowledgement it waits for was asked: its raise, or the escalation that undid an acknowledgement
   * (acknowledged at orange is not at red) — what `unless: acknowledged` steps count from. Absent: `raisedAt`.
   */
  ackAskedAt?: number;
  acknowledged: boolean;
  assigned: boolean;
  resolved: boolean;
  /** `alarm.overdue` went out. */
  overdue: boolean;
  /** Its same-day deadline, null if none. */
  deadline: number | null;
  /** Under a shelf or maintenance window: someone took it out of view for a while, nothing fires until it ends. */
  shelved: boolean;
}

/** A step of the policy: its number (from 1), why it fires, and when it is due (null: when the alarm goes overdue, with no deadline known). */
export interface PlannedStep {
  step: number;
  condition: AlarmChase['condition'];
  dueAt: number | null;
}

/** The steps due now, soonest due first, and the soonest still to come (null: nothing more to do). */
export interface ChasePlan {
  fire: PlannedStep[];
  next: PlannedStep | null;
}

const AWAITED = { acknowledged: 'not_acknowledged', assigned: 'not_assigned', resolved: 'not_resolved' } as const;

/** Why `step` fires: the alarm went overdue, or the action it waits for was not taken. */
export const conditionOf = (step: EscalationStep): AlarmChase['condition'] => (step.on === 'overdue' ? 'overdue' : AWAITED[step.unless]);

const taken = (step: EscalationStep, facts: ChaseFacts): boolean =>
  step.unless === 'acknowledged' ? facts.acknowledged : step.unless === 'assigned' ? facts.assigned : facts.resolved;

/** Soonest due first; a step waiting for a deadline nobody knows yet last; then by number. */
const bySoonest = (a: PlannedStep, b: PlannedStep): number =>
  (a.dueAt ?? Number.POSITIVE_INFINITY) - (b.dueAt ?? Number.POSITIVE_INFINITY) || a.step - b.step;

/**
 * The escalation of one alarm at `now`, the steps of its policy in `fired` having fired already. Each step is due on
 * its own time: one whose awaited action was taken is passed over, and none waits for another (the overdue step of
 * the day's deadline is not held back by an 8-hour step still to come). A resolved alarm is not chased; a shelved one
 * not while it is shelved. Pure: the same facts give the same plan.
 */
export function planChase(steps: readonly EscalationStep[], facts: ChaseFacts, fired: ReadonlySet<number>, now: number): ChasePlan {
  const fire: PlannedStep[] = [];
  const waiting: PlannedStep[] = [];
  if (facts.resolved) return { fire, next: null };
  steps.forEach((step, index) => {
    if (fired.has(index + 1) || taken(step, facts)) return;
    const planned: PlannedStep = { step: index + 1, condition: conditionOf(step), dueAt: null };
    if (step.on === 'raised')
      planned.dueAt = (step.unless === 'acknowledged' ? (facts.ackAskedAt ?? facts.raisedAt) : facts.raisedAt) + step.after;
    else if (facts.deadline !== null) planned.dueAt = facts.deadline + step.after;
    const due = !facts.shelved && planned.dueAt !== null && now >= planned.dueAt && (step.on === 'raised' || facts.overdue);
    (due ? fire : waiting).push(planned);
  });
  return { fire: fire.sort(bySoonest), next: waiting.sort(bySoonest)[0] ?? null };
}

/** The facts of an alarm as the book holds it. */
export function chaseFacts(alarm: Alarm, history: readonly AlarmTransition[] = []): ChaseFacts {
  return {
    raisedAt: Date.parse(alarm.reportedAt ?? alarm.raisedAt),
    ackAskedAt: ackAskedAt(alarm, history),
    acknowledged: alarm.acknowledged,
    assigned: alarm.assignee !== undefined && alarm.assignee !== null,
    resolved: alarm.resolved,
    overdue: alarm.overdue === true,
    deadline: alarm.deadline ? Date.parse(alarm.deadline) : null,
    shelved: alarm.shelved !== undefined && alarm.shelved !== null,
  };
}

/**
 * When the acknowledgement the alarm waits for was asked: its raise or return (`reportedAt`, else `raisedAt`), or the
 * last escalation since that undid an acknowledgement — the officer gets the step's time to acknowledge the red. An
 * escalation of an alarm nobody acknowledged asks nothing new: its steps keep counting from the raise.
 */
function ackAskedAt(alarm: Alarm, history: readonly AlarmTransition[]): number {
  let asked = Date.parse(alarm.reportedAt ?? alarm.raisedAt);
  let acknowledged = false;
  let start = history.length;
  while (start > 0 && (history[start - 1] as AlarmTransition).type !== 'alarm.raised') start -= 1;
  for (let i = start; i < history.length; i += 1) {
    const t = history[i] as AlarmTransition;
    if (t.type === 'alarm.acknowledged') acknowledged = true;
    else if (t.type === 'alarm.escalated' && acknowledged) {
      asked = Math.max(asked, t.at);
      acknowledged = false;
    }
  }
  return asked;
}

/** The first policy whose match takes the alarm (its site, current severity and profile), or undefined. */
export function policyFor(policies: readonly EscalationPolicy[], alarm: Alarm): EscalationPolicy | undefined {
  return policies.find(
    ({ match }) =>
      (!match.sites || match.sites.includes(alarm.site)) &&
      (!match.severities || match.severities.includes(alarm.severity)) &&
      (!match.profiles || match.profiles.includes(alarm.profile)),
  );
}

/**
 * The steps of `policy` that already fired for the alarm's current occurrence (their numbers): read from its history in
 * the store, so that a restart neither repeats a step nor forgets one. An alarm that returns (`alarm.raised` again,
 * unacknowledged, due the day it returns) is chased afresh: the steps of its earlier occurrence do not count.
 */
export function stepsFired(alarm: Alarm, history: readonly AlarmTransition[], policy: string): Set<number> {
  const fired = new Set<number>();
  if (!alarm.chase) return fired; // never chased
  for (const t of history) {
    if (t.type === 'alarm.raised') fired.clear();
    else if (t.type === 'alarm.chased' && t.alarm.chase?.policy === policy) fired.add(t.alarm.chase.step);
  }
  return fired;
}
