import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { alarmSchema, disposalSchema } from '../../../../rules/src/index.js';
import { EXAMPLE_ALARM } from './example-alarm.js';

/** What the alarm actions take and answer: one alarm (alarm-routes.ts) or many (alarm-bulk-routes.ts). */

export const actionBody = z
  .object({
    by: z
      .string()
      .trim()
      .min(1, 'who acts is required')
      .max(200)
      .describe(
        'who acts (a duty officer): required with a shared token of api.tokens; with a named user (session or personal token) optional — the user is recorded',
      ),
    note: z.string().max(4_000).optional(),
  })
  .meta({ examples: [{ by: 'Wang Li (duty officer)', note: 'checked on site' }] });

/** The occurrence the duty officer saw (optional): an action on a return they have not seen is refused. */
const occurrence = (what: string) =>
  z
    .number()
    .int()
    .positive()
    .optional()
    .describe(`the alarm's \`occurrences\` the duty officer saw: if it cleared and came back since, 409 alarm_reoccurred, not ${what}`);

/** Acknowledge: the action's body, and the occurrence the duty officer saw (optional). */
export const ackBody = actionBody
  .extend({ occurrence: occurrence('an acknowledgement of a return they have not seen') })
  .meta({ examples: [{ by: 'Wang Li (duty officer)', note: 'checked on site', occurrence: 1 }] });

/** Resolve: the action's body, and the disposal record (required when handling.requireDisposal is on). */
export const resolveBody = actionBody
  .extend({
    occurrence: occurrence('a disposal record written for the occurrence before closing one they have not seen'),
    disposal: disposalSchema
      .extend({
        // a link a duty officer opens: http(s) only (not javascript: or data:), also for the webhook receivers and the CSV
        attachment: z
          .url({ protocol: /^https?$/, error: 'an http(s) link' })
          .max(2_000)
          .optional(),
      })
      .optional()
      .describe('what was done about it (闭环处置): cause, measures, responsible, optional http(s) link'),
  })
  .meta({
    examples: [
      {
        by: 'Wang Li (duty officer)',
        note: 'closed on site',
        disposal: {
          cause: 'bearing of the rotary valve overheated',
          measures: 'valve stopped, bearing replaced, hopper emptied and checked',
          responsible: 'Zhang Wei (maintenance)',
          attachment: 'https://wo.example.org/orders/4711',
        },
      },
    ],
  });

export const alarm = alarmSchema.meta({ examples: [EXAMPLE_ALARM] });

/**
 * Who an action is recorded as: a named user (session or personal token) is the actor whatever `by` says (a `by`
 * that differs goes to the audit entry); a shared token of api.tokens acts as its `by`, as contract §6 has it.
 * Runs before validation so that a user may leave `by` out.
 */
export const byTheUser = async (request: FastifyRequest): Promise<void> => {
  const caller = request.caller;
  if (caller?.kind !== 'user') return;
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  if (typeof body.by !== 'string' || body.by.trim() === '') request.body = { ...body, by: caller.name };
};
