import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ActOnAlarm } from '../../alarms/alarm-action.js';
import { AUTH_ERRORS, errorResponses } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';
import { type AckOrResolveFields, ackOrResolve } from './ack-or-resolve.js';
import { actionBody, alarm, byTheUser, resolveBody } from './alarm-action-bodies.js';
import { EXAMPLE_ALARM } from './example-alarm.js';

/** Alarms one request may act on. */
export const MAX_BULK_ALARMS = 1_000;
/**
 * A bulk body's size limit: a thousand ids of up to 200 characters, each again in `occurrences`, a note and a disposal
 * record (the server's default, 64 KiB, refused the console's acknowledgement of a thousand alarms with their occurrences).
 */
const BULK_BODY_LIMIT = 512 * 1024;

/** Actions taken between two turns of the event loop: the broker and the lane go on while a thousand are handled. */
const ACTIONS_PER_TURN = 50;

const ids = z
  .array(z.string().min(1).max(200))
  .min(1)
  .max(MAX_BULK_ALARMS)
  .refine((list) => new Set(list).size === list.length, 'each alarm once')
  .describe(`the alarms to act on (at most ${MAX_BULK_ALARMS}, each once), e.g. those a filter of the console shows`);

/** By alarm id, the occurrence seen of each (any of `ids`), as the route for one alarm takes `occurrence`. */
const occurrences = (action: 'ack' | 'resolve') =>
  z
    .record(z.string(), z.number().int().positive())
    .optional()
    .describe(
      `by alarm id, the \`occurrences\` the duty officer saw (any of \`ids\`, optional): an alarm that cleared and came back since is not ${action === 'ack' ? 'acknowledged' : 'resolved'} (alarm_reoccurred), as \`POST /api/alarms/{id}/${action}\` with \`occurrence\``,
    );
const occurrencesOfIds = {
  check: (body: { ids: string[]; occurrences?: Record<string, number> | undefined }) =>
    body.occurrences === undefined || Object.keys(body.occurrences).every(Set.prototype.has, new Set(body.ids)),
  message: { message: 'occurrences only of the alarms in ids', path: ['occurrences'] },
};

const bulkAckBody = actionBody
  .extend({ ids, occurrences: occurrences('ack') })
  .refine(occurrencesOfIds.check, occurrencesOfIds.message)
  .meta({
    examples: [
      {
        ids: ['alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T'],
        by: 'Wang Li (duty officer)',
        note: 'site network down 02:10–02:40',
        occurrences: { alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T: 1 },
      },
    ],
  });
const bulkResolveBody = resolveBody
  .omit({ occurrence: true })
  .extend({ ids, occurrences: occurrences('resolve') })
  .refine(occurrencesOfIds.check, occurrencesOfIds.message)
  .meta({
    examples: [
      {
        ids: ['alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T'],
        by: 'Wang Li (duty officer)',
        disposal: {
          cause: 'site network outage 02:10–02:40 (switch power supply failed)',
          measures: 'power supply replaced; every monitor reporting again, readings checked',
          responsible: 'Zhang Wei (IT)',
        },
      },
    ],
  });

const outcomes = z
  .object({
    results: z
      .array(
        z.object({
          id: z.string(),
          ok: z.boolean(),
          error: z
            .string()
            .optional()
            .describe('why not: the code the action on that one alarm answers (alarm_not_found, alarm_resolved, …)'),
          alarm: alarm.optional().describe('the alarm after the action'),
        }),
      )
      .describe('one per id, in the order given'),
    done: z.number().int().describe('how many were acted on'),
    failed: z.number().int().describe('how many were not'),
  })
  .meta({
    description: 'what happened to each alarm: each is acted on as if alone (its own transition, event and audit entry)',
    examples: [{ results: [{ id: EXAMPLE_ALARM.id, ok: true, alarm: EXAMPLE_ALARM }], done: 1, failed: 0 }],
  });

/** One alarm's part of a bulk body: the action's fields, with the occurrence seen of that alarm if one was given. */
function fieldsFor(body: AckOrResolveFields & { occurrences?: Record<string, number> | undefined }, id: string): AckOrResolveFields {
  const seen = body.occurrences !== undefined && Object.hasOwn(body.occurrences, id) ? body.occurrences[id] : undefined;
  return seen === undefined ? body : { ...body, occurrence: seen };
}

/**
 * `POST /api/alarms/ack` and `POST /api/alarms/resolve` (extensions): one action on many alarms, e.g. after a site's
 * network outage, its silence alarms acknowledged together and closed with one disposal record. Each alarm is acted on
 * as `POST /api/alarms/{id}/ack` or `/resolve` would: its own transition, event (webhook, live feed) and audit entry;
 * one that cannot be (already resolved, still active, not found) is reported and the others go on.
 */
export function registerAlarmBulkRoutes(app: FastifyInstance, deps: { audit: AuditRecorder; act: ActOnAlarm }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const bulk = { ack: bulkAckBody, resolve: bulkResolveBody } as const;
  for (const action of ['ack', 'resolve'] as const) {
    api.post(
      `/api/alarms/${action}`,
      {
        config: { role: 'operator' },
        bodyLimit: BULK_BODY_LIMIT,
        preValidation: byTheUser,
        schema: {
          summary: action === 'ack' ? 'Acknowledge many alarms' : 'Record one disposal (处置) for many cleared alarms and close them',
          description: `Each alarm as \`POST /api/alarms/{id}/${action}\` would act on it alone; the answer says what happened to each.`,
          tags: ['alarms'],
          body: bulk[action],
          response: {
            200: outcomes,
            ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'payload_too_large', 'unsupported_media_type']),
          },
        },
      },
      async (request) => {
        const results: Array<z.infer<typeof outcomes>['results'][number]> = [];
        // in a cluster, a node that did not answer is not waited for again in this request
        const unavailable = new Set<string>();
        for (const [index, id] of request.body.ids.entries()) {
          if (index > 0 && index % ACTIONS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
          const result = await ackOrResolve(deps, request, action, id, fieldsFor(request.body, id), unavailable);
          results.push(result.ok ? { id, ok: true, alarm: result.transition.alarm } : { id, ok: false, error: result.error.code });
        }
        const done = results.filter((r) => r.ok).length;
        return { results, done, failed: results.length - done };
      },
    );
  }
}
