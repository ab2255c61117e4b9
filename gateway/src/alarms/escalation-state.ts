import { z } from 'zod';
import { CHASE_CONDITIONS } from '../../../rules/src/index.js';

/** Where an alarm stands in its escalation policy (催办), as `GET /api/alarms/{id}` shows it. */
export const escalationStateSchema = z
  .object({
    policy: z.string().describe('the escalation policy that takes the alarm (handling.escalation[].id)'),
    stepsDone: z.number().int().min(0).describe('the number of the last step that fired for it (0: none yet)'),
    steps: z.number().int().positive().describe('how many steps the policy has'),
    next: z
      .object({
        step: z.number().int().positive(),
        condition: z.enum(CHASE_CONDITIONS).describe('why it will fire'),
        dueAt: z.string().nullable().describe('ISO 8601: when it fires unless the awaited action is taken (null: when it goes overdue)'),
        waitsFor: z.enum(['acknowledged', 'assigned', 'resolved']).describe('the action that stops it'),
      })
      .nullable()
      .describe('the next step to fire; null: nothing more will'),
  })
  .meta({
    examples: [
      {
        policy: 'red-unacknowledged',
        stepsDone: 1,
        steps: 3,
        next: { step: 2, condition: 'not_acknowledged', dueAt: '2026-11-22T08:15:03.000Z', waitsFor: 'acknowledged' },
      },
    ],
  });
export type EscalationState = z.infer<typeof escalationStateSchema>;
