import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alarmSchema, shelfSchema } from '../../../../rules/src/index.js';
import { roleAtLeast } from '../../accounts/roles.js';
import type { ShelfActor, ShelfDesk, ShelfOutcome, WindowTimes } from '../../alarms/shelf-service.js';
import type { AlarmView } from '../../cluster/alarm-mirror.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';
import { EXAMPLE_ALARM } from './example-alarm.js';

const EXAMPLE_SHELF = {
  id: 'shf_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
  scope: 'device',
  site: 'site-a',
  device: 'dc-01',
  alarm: null,
  reason: 'filter bags replaced (work order 4711)',
  by: 'Wang Li (duty officer)',
  from: '2026-11-22T08:00:00.000Z',
  until: '2026-11-22T12:00:00.000Z',
  holdsRed: false,
  createdAt: '2026-11-22T07:55:00.000Z',
  endedAt: null,
  endedBy: null,
} as const;

const shelf = shelfSchema.meta({ examples: [EXAMPLE_SHELF] });

const by = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .optional()
  .describe('who acts: required with a shared token of api.tokens; a named user (session or personal token) is recorded as themselves');
const reason = z
  .string()
  .trim()
  .min(1, 'the reason is required')
  .max(2_000)
  .describe('why (kept on the shelf, in the events and the audit log)');
const time = z.iso.datetime({ offset: true }).describe('ISO 8601');
const durationMinutes = z.number().int().positive().describe('instead of until: minutes from its beginning');

const exactlyOneEnd = (body: { until?: string | undefined; durationMinutes?: number | undefined }, ctx: z.RefinementCtx): void => {
  if ((body.until === undefined) === (body.durationMinutes === undefined))
    ctx.addIssue({ code: 'custom', path: ['until'], message: 'give until or durationMinutes (one of them)' });
};

const shelveBody = z
  .object({ by, reason, until: time.optional(), durationMinutes: durationMinutes.optional() })
  .strict()
  .superRefine(exactlyOneEnd)
  .meta({ examples: [{ by: 'Wang Li (duty officer)', reason: 'known fault, fitter on the way', durationMinutes: 120 }] });

const endBody = z
  .object({ by, note: z.string().max(4_000).optional() })
  .strict()
  .meta({ examples: [{ by: 'Wang Li (duty officer)', note: 'maintenance finished early' }] });

const windowBody = z
  .object({
    by,
    scope: z.enum(['device', 'site']).describe('a device (its alarms) or a whole site (every device on it)'),
    site: z.string().min(1).optional().describe('the site: required for scope site; for a device, checked if given'),
    device: z.string().min(1).optional().describe('the device (scope device)'),
    reason,
    from: time.optional().describe('when it begins (default: now)'),
    until: time.optional(),
    durationMinutes: durationMinutes.optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    exactlyOneEnd(body, ctx);
    if (body.scope === 'device' && body.device === undefined)
      ctx.addIssue({ code: 'custom', path: ['device'], message: 'required for scope device' });
    if (body.scope === 'site' && body.site === undefined)
      ctx.addIssue({ code: 'custom', path: ['site'], message: 'required for scope site' });
    if (body.scope === 'site' && body.device !== undefined)
      ctx.addIssue({ code: 'custom', path: ['device'], message: 'not for scope site' });
  })
  .meta({
    examples: [
      {
        by: 'Wang Li (duty officer)',
        scope: 'device',
        device: 'dc-01',
        reason: 'filter bags replaced (work order 4711)',
        durationMinutes: 240,
      },
      {
        scope: 'site',
        site: 'site-a',
        reason: 'declared stop for rectification',
        from: '2026-11-23T00:00:00+08:00',
        until: '2026-11-24T00:00:00+08:00',
      },
    ],
  });

const alarmIdParams = z.object({
  id: z
    .string()
    .min(1)
    .meta({ examples: ['alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T'] }),
});
const shelfIdParams = z.object({
  id: z
    .string()
    .min(1)
    .meta({ examples: ['shf_01JD7Q7M1V3N8B5QZ0K4XH2C9T'] }),
});

const shelfAndAlarm = z
  .object({ shelf, alarm: alarmSchema.nullable().describe('the alarm after the action (alarm shelves)') })
  .meta({ examples: [{ shelf: { ...EXAMPLE_SHELF, scope: 'alarm', alarm: EXAMPLE_ALARM.id }, alarm: EXAMPLE_ALARM }] });

/** What every shelving action may answer; `cluster_unavailable`: in a cluster, the site's owner did not answer. */
const COMMON = [...AUTH_ERRORS, 'validation_failed', 'payload_too_large', 'unsupported_media_type', 'cluster_unavailable'] as const;

export interface ShelfRouteDeps {
  shelves: ShelfDesk;
  /** The alarms the API shows (in a cluster, every node's). */
  alarms: Pick<AlarmView, 'get'>;
  audit: AuditRecorder;
}

/** Who acts: a named user as themselves; a shared token as its `by`. Null: a shared token without `by`. */
const actorOf = (request: FastifyRequest, by: string | undefined): ShelfActor | null => {
  const caller = request.caller;
  if (!caller) return null;
  const name = caller.kind === 'user' ? caller.name : by;
  return name === undefined ? null : { name, mayShelveRed: roleAtLeast(caller.role, 'dispatcher') };
};

const parseTime = (text: string | undefined): number | undefined => (text === undefined ? undefined : Date.parse(text));
const timesOf = (body: { from?: string | undefined; until?: string | undefined; durationMinutes?: number | undefined }): WindowTimes => ({
  from: parseTime(body.from),
  until: parseTime(body.until),
  durationMinutes: body.durationMinutes,
});

const noActor = (reply: FastifyReply): FastifyReply =>
  sendError(reply, 'validation_failed', 'by: who acts is required with a shared token', [{ path: 'by', message: 'who acts is required' }]);

/** Shelving one alarm, and maintenance windows for a device or a site (operator; red alarms: dispatcher). */
export function registerShelfRoutes(app: FastifyInstance, deps: ShelfRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  const answer = (reply: FastifyReply, outcome: ShelfOutcome, status = 200) => {
    if (!outcome.ok) return sendError(reply, outcome.code, outcome.message);
    return reply.code(status).send({ shelf: outcome.shelf, alarm: outcome.alarm });
  };

  api.post(
    '/api/alarms/:id/shelve',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Shelve an alarm until a time, with a reason (red: dispatcher only)',
        description:
          'While shelved, the transitions of its condition are recorded in its history (`held`) but not delivered; when the shelf ends, `alarm.unshelved` and its current state go out.',
        tags: ['alarms'],
        params: alarmIdParams,
        body: shelveBody,
        response: {
          200: shelfAndAlarm,
          ...errorResponses([
            ...COMMON,
            'alarm_not_found',
            'shelve_requires_dispatcher',
            'alarm_resolved',
            'alarm_already_shelved',
            'shelf_window_invalid',
            'shelf_too_long',
          ]),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const actor = actorOf(request, request.body.by);
      if (!actor) return noActor(reply);
      const outcome: ShelfOutcome = deps.alarms.get(id)
        ? await deps.shelves.act({ kind: 'shelveAlarm', alarmId: id, reason: request.body.reason, times: timesOf(request.body), actor })
        : { ok: false, code: 'alarm_not_found', message: `no alarm ${id}` };
      deps.audit(request, {
        action: 'alarm.shelve',
        target: id,
        outcome: outcome.ok ? 'ok' : outcome.code,
        note: request.body.reason,
        by: request.body.by ?? null,
        detail: outcome.ok ? { shelf: outcome.shelf.id, until: outcome.shelf.until } : null,
      });
      return answer(reply, outcome);
    },
  );

  api.post(
    '/api/alarms/:id/unshelve',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'End the shelf of an alarm before it expires',
        tags: ['alarms'],
        params: alarmIdParams,
        body: endBody,
        response: {
          200: shelfAndAlarm,
          ...errorResponses([
            ...COMMON,
            'alarm_not_found',
            'alarm_resolved',
            'shelf_not_found',
            'shelf_ended',
            'alarm_in_maintenance_window',
          ]),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const actor = actorOf(request, request.body.by);
      if (!actor) return noActor(reply);
      const outcome = await deps.shelves.act({ kind: 'unshelveAlarm', alarmId: id, note: request.body.note ?? null, actor });
      deps.audit(request, {
        action: 'alarm.unshelve',
        target: id,
        outcome: outcome.ok ? 'ok' : outcome.code,
        note: request.body.note ?? null,
        by: request.body.by ?? null,
      });
      return answer(reply, outcome);
    },
  );

  api.post(
    '/api/shelves',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'Declare a maintenance window for a device or a site',
        description:
          "Its alarms' transitions are held (recorded in their history, not delivered) from `from` to `until`; at the end, `alarm.unshelved` and each alarm's current state go out. An operator's window never holds a red transition; a dispatcher's does.",
        tags: ['alarms'],
        body: windowBody,
        response: {
          201: shelfAndAlarm,
          ...errorResponses([...COMMON, 'device_not_found', 'site_not_found', 'shelf_window_invalid', 'shelf_too_long']),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const actor = actorOf(request, body.by);
      if (!actor) return noActor(reply);
      const outcome = await deps.shelves.act({
        kind: 'declareWindow',
        where: { scope: body.scope, site: body.site, device: body.device },
        reason: body.reason,
        times: timesOf(body),
        actor,
      });
      deps.audit(request, {
        action: 'shelf.create',
        target: outcome.ok ? outcome.shelf.id : (body.device ?? body.site ?? null),
        outcome: outcome.ok ? 'ok' : outcome.code,
        note: body.reason,
        by: body.by ?? null,
        detail: {
          scope: body.scope,
          site: body.site ?? null,
          device: body.device ?? null,
          ...(outcome.ok ? { from: outcome.shelf.from, until: outcome.shelf.until } : {}),
        },
      });
      return answer(reply, outcome, 201);
    },
  );

  api.get(
    '/api/shelves',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Shelves and maintenance windows, newest first',
        tags: ['alarms'],
        querystring: z.object({
          state: z
            .enum(['active', 'all'])
            .default('active')
            .meta({ examples: ['all'] })
            .describe('active: on or still to come; all: also the recently ended'),
        }),
        response: {
          200: z.object({ shelves: z.array(shelf), count: z.number().int() }).meta({ examples: [{ shelves: [EXAMPLE_SHELF], count: 1 }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed']),
        },
      },
    },
    async (request) => {
      const shelves = deps.shelves.list(request.query.state === 'all');
      return { shelves, count: shelves.length };
    },
  );

  api.get(
    '/api/shelves/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One shelf or maintenance window',
        tags: ['alarms'],
        params: shelfIdParams,
        response: { 200: z.object({ shelf }), ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'shelf_not_found']) },
      },
    },
    async (request, reply) => {
      const found = deps.shelves.get(request.params.id);
      if (!found) return sendError(reply, 'shelf_not_found', `no shelf ${request.params.id}`);
      return { shelf: found };
    },
  );

  api.post(
    '/api/shelves/:id/end',
    {
      config: { role: 'operator' },
      schema: {
        summary: 'End a shelf or maintenance window before it expires',
        tags: ['alarms'],
        params: shelfIdParams,
        body: endBody,
        response: { 200: shelfAndAlarm, ...errorResponses([...COMMON, 'shelf_not_found', 'shelf_ended']) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const actor = actorOf(request, request.body.by);
      if (!actor) return noActor(reply);
      const outcome = await deps.shelves.act({ kind: 'endShelf', id, note: request.body.note ?? null, actor });
      deps.audit(request, {
        action: 'shelf.end',
        target: id,
        outcome: outcome.ok ? 'ok' : outcome.code,
        note: request.body.note ?? null,
        by: request.body.by ?? null,
      });
      return answer(reply, outcome);
    },
  );
}
