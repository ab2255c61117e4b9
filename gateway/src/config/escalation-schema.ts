import { z } from 'zod';
import { durationSchema, SEVERITIES } from '../../../rules/src/index.js';
import { userNameSchema } from '../accounts/user-name.js';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Whom a step notifies: webhook or robot subscribers by id (whatever their filters say), and named users. */
const notify = z
  .object({
    /** `webhooks[].id`: the step's `alarm.chased` goes to each, even if its filter would not match. */
    subscribers: z.array(z.string()).default([]),
    /** Users named in the event (`alarm.chase.notify.users`), shown in the console and the alarm's history. */
    users: z.array(userNameSchema).default([]),
  })
  .strict();

/**
 * One step of an escalation policy (催办). `on: raised`: due `after` the alarm was raised; `on: overdue`: due `after`
 * (default 0) its same-day deadline, once `alarm.overdue` went out. It fires unless the action it waits for was
 * taken (`unless`: acknowledged by default, resolved for an overdue step), at most once per alarm. `assign`: the
 * step also assigns the alarm to that user.
 */
const step = z
  .object({
    on: z.enum(['raised', 'overdue']).default('raised'),
    after: durationSchema.optional(),
    unless: z.enum(['acknowledged', 'assigned', 'resolved']).optional(),
    notify: notify.default({ subscribers: [], users: [] }),
    assign: userNameSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.notify.subscribers.length + s.notify.users.length === 0 && s.assign === undefined)
      ctx.addIssue({ code: 'custom', path: ['notify'], message: 'name at least one subscriber or user to notify, or a user to assign' });
    if (s.on === 'raised' && s.after === undefined)
      ctx.addIssue({ code: 'custom', path: ['after'], message: 'required for a step on raised: how long nobody may act, e.g. 5m' });
  })
  .transform((s) => ({
    on: s.on,
    after: s.after ?? 0,
    unless: s.unless ?? (s.on === 'overdue' ? ('resolved' as const) : ('acknowledged' as const)),
    notify: s.notify,
    ...(s.assign === undefined ? {} : { assign: s.assign }),
  }));

/** Which alarms a policy is for; an absent list matches every value. */
const match = z
  .object({
    sites: z.array(z.string()).min(1).optional(),
    severities: z.array(z.enum(SEVERITIES)).min(1).optional(),
    profiles: z.array(z.string()).min(1).optional(),
  })
  .strict();

/** An escalation policy: the alarms it is for and its steps, in the order they fire. */
export const escalationPolicySchema = z
  .object({
    id: z.string().regex(idPattern, 'expected 1–64 characters of A-Z a-z 0-9 _ -'),
    match: match.default({}),
    steps: z.array(step).min(1, 'a policy has at least one step'),
  })
  .strict()
  .superRefine((policy, ctx) => {
    let sawOverdue = -1;
    let previous: { index: number; after: number } | null = null;
    policy.steps.forEach((s, index) => {
      if (s.on === 'overdue') {
        if (sawOverdue === -1) previous = null;
        sawOverdue = index;
      } else if (sawOverdue !== -1) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'on'],
          message: `steps fire in order: a step on raised cannot follow the step on overdue (steps[${sawOverdue}])`,
        });
        return;
      }
      if (previous && s.after < previous.after)
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index, 'after'],
          message: `steps fire in order: after must not be shorter than steps[${previous.index}]'s (${previous.after} ms)`,
        });
      previous = { index, after: s.after };
    });
  });

export type EscalationPolicy = z.infer<typeof escalationPolicySchema>;
export type EscalationStep = EscalationPolicy['steps'][number];

export const escalationSchema = z
  .array(escalationPolicySchema)
  .default([])
  .superRefine((policies, ctx) => {
    const seen = new Set<string>();
    policies.forEach((policy, index) => {
      if (seen.has(policy.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate escalation policy "${policy.id}"` });
      seen.add(policy.id);
    });
  });

export interface EscalationProblem {
  path: Array<string | number>;
  message: string;
}

/**
 * What the policies name that the rest of the configuration does not have: a subscriber id that is not in
 * `webhooks`, a step on overdue while deadlines are off. Paths are from the configuration's root.
 */
export function escalationProblems(
  policies: readonly EscalationPolicy[],
  subscriberIds: readonly string[],
  deadlinesEnabled: boolean,
): EscalationProblem[] {
  const problems: EscalationProblem[] = [];
  const known = new Set(subscriberIds);
  policies.forEach((policy, p) => {
    policy.steps.forEach((s, i) => {
      const at = ['handling', 'escalation', p, 'steps', i];
      s.notify.subscribers.forEach((id, k) => {
        if (!known.has(id))
          problems.push({
            path: [...at, 'notify', 'subscribers', k],
            message: `unknown webhook subscriber "${id}" (webhooks: ${subscriberIds.length > 0 ? subscriberIds.join(', ') : 'none'})`,
          });
      });
      if (s.on === 'overdue' && !deadlinesEnabled)
        problems.push({ path: [...at, 'on'], message: 'never fires: handling.deadline.enabled is false (no alarm goes overdue)' });
    });
  });
  return problems;
}
