import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alarmEventTypeSchema, disposalSchema, severitySchema } from '../../../../rules/src/index.js';
import { type ActOnAlarm, performAlarmAction } from '../../alarms/alarm-action.js';
import type { AlarmService } from '../../alarms/alarm-service.js';
import { type EscalationState, escalationStateSchema } from '../../alarms/escalation-state.js';
import type { AlarmView } from '../../cluster/alarm-mirror.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';
import { type AckOrResolveFields, ackOrResolve } from './ack-or-resolve.js';
import { ackBody, actionBody, alarm, byTheUser, resolveBody } from './alarm-action-bodies.js';
import { registerAlarmBulkRoutes } from './alarm-bulk-routes.js';
import { alarmFilterQuery, alarmsCsv, cursorOf, readCursor, selectAlarms, startAfter } from './alarm-query.js';
import { EXAMPLE_ALARM } from './example-alarm.js';

// Query and path parameters carry their examples one by one: the document lists them as separate parameters.
const listQuery = z.object({
  ...alarmFilterQuery,
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    // as many as the book keeps of resolved alarms (MAX_CLOSED): a client that knows only the contract's "alarms,
    // newest first" gets them all but in a plant-wide outage of more open alarms (then `total` says how many match)
    .default(10_000)
    .meta({ examples: [50] })
    .describe('at most this many alarms (default and most 10,000; `total` counts every match, `offset` pages)'),
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .meta({ examples: [50] })
    .describe('skip this many of the matching alarms (after `after` when both are given)'),
  after: z
    .string()
    .max(1_000)
    .refine((text) => readCursor(text) !== null, 'not a cursor of this API: pass the `next` of the page before')
    .optional()
    .meta({ examples: ['WyIyMDI2LTExLTIyVDAxOjAyOjAzLjAwMFoiLCJhbG1fMDEiXQ'] })
    .describe(
      'the `next` of the page before: the alarms after its last one. Unlike `offset`, no alarm repeats or is skipped when alarms are raised or resolved between pages (one that returns meanwhile is raised again: it moves to the top, before the first page)',
    ),
});

const csvQuery = z.object({
  ...alarmFilterQuery,
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(100_000)
    .meta({ examples: [10_000] }),
});

const assignBody = z
  .object({
    to: z
      .string()
      .trim()
      .min(1, 'the responsible person is required')
      .max(200)
      // `-` is how the list's assignee filter asks for nobody: an alarm assigned to "-" would be in neither list
      .refine((to) => to !== '-', 'the responsible person is required ("-" means nobody)')
      .describe('the responsible person'),
    by: actionBody.shape.by,
    note: z.string().max(4_000).optional(),
  })
  .meta({ examples: [{ to: 'Zhang Wei (maintenance)', by: 'Li Na (dispatcher)', note: 'please check the valve today' }] });

const idParams = z.object({
  id: z
    .string()
    .min(1)
    .meta({ examples: ['alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T'] }),
});

const alarmList = z
  .object({
    alarms: z.array(alarm).describe('newest first'),
    count: z.number().int(),
    total: z.number().int().describe('how many match the filters, on every page'),
    offset: z.number().int().describe('how many of the matching alarms come before this page'),
    next: z.string().nullable().describe('pass as `after` for the next (older) page; null: no more'),
  })
  .meta({ description: 'the alarms, newest first', examples: [{ alarms: [EXAMPLE_ALARM], count: 1, total: 1, offset: 0, next: null }] });

const historyStep = z.object({
  type: alarmEventTypeSchema,
  at: z.string().describe('ISO 8601'),
  seq: z.number().int().positive(),
  severity: severitySchema,
  by: z.string().nullable(),
  note: z.string().nullable(),
  assignee: z.string().nullable().optional().describe('alarm.assigned: to whom'),
  disposal: disposalSchema.nullable().optional().describe('alarm.resolved: the disposal record, if one was given'),
  held: z
    .string()
    .optional()
    .describe('the shelf or maintenance window that held this transition: recorded here, not delivered (absent: delivered)'),
});

const alarmWithHistory = z
  .object({
    alarm,
    history: z.array(historyStep).describe('every transition, oldest first'),
    escalation: escalationStateSchema
      .optional()
      .describe('where it stands in its escalation policy (handling.escalation); absent when no policy takes it'),
  })
  .meta({
    description: 'the alarm and its transitions',
    examples: [
      {
        alarm: EXAMPLE_ALARM,
        history: [{ type: 'alarm.raised', at: '2026-11-22T08:00:03.120Z', seq: 1, severity: 'orange', by: null, note: null }],
      },
    ],
  });

export function registerAlarmRoutes(
  app: FastifyInstance,
  deps: {
    alarms: AlarmService;
    audit: AuditRecorder;
    escalationOf?: (id: string) => EscalationState | null;
    /** In a cluster: every node's alarms (this node's book first); absent: this node's book. */
    view?: AlarmView | undefined;
    /** In a cluster: takes an action here or on the node that judges the alarm's site; absent: here. */
    act?: ActOnAlarm | undefined;
  },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const view = deps.view ?? deps.alarms.book;
  const act: ActOnAlarm = deps.act ?? (async (action) => performAlarmAction(deps.alarms, action));
  registerAlarmBulkRoutes(app, { audit: deps.audit, act });

  api.get(
    '/api/alarms',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'List alarms, newest first',
        tags: ['alarms'],
        querystring: listQuery,
        response: { 200: alarmList, ...errorResponses([...AUTH_ERRORS, 'validation_failed']) },
      },
    },
    async (request) => {
      const { limit, after } = request.query;
      const matching = selectAlarms(view, request.query);
      const cursor = after === undefined ? null : readCursor(after);
      const offset = (cursor === null ? 0 : startAfter(matching, cursor)) + request.query.offset;
      const alarms = matching.slice(offset, offset + limit);
      const last = alarms.at(-1);
      const next = last !== undefined && offset + alarms.length < matching.length ? cursorOf(last) : null;
      return { alarms, count: alarms.length, total: matching.length, offset, next };
    },
  );

  api.get(
    '/api/alarms.csv',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'The alarms as CSV (UTF-8 with BOM, for Excel), newest first, with the same filters',
        tags: ['alarms'],
        querystring: csvQuery,
        response: {
          200: { description: 'the alarms, a header row first', content: { 'text/csv': { schema: z.string() } } },
          ...errorResponses([...AUTH_ERRORS, 'validation_failed']),
        },
      },
    },
    async (request, reply) =>
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="alarms.csv"')
        .send(alarmsCsv(selectAlarms(view, request.query).slice(0, request.query.limit))),
  );

  api.get(
    '/api/alarms/:id',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One alarm with its transition history',
        tags: ['alarms'],
        params: idParams,
        response: { 200: alarmWithHistory, ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'alarm_not_found']) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const found = view.get(id);
      if (!found) return sendError(reply, 'alarm_not_found', `no alarm ${id}`);
      const history = view.history(id).map((t) => ({
        type: t.type,
        at: new Date(t.at).toISOString(),
        seq: t.alarm.seq,
        severity: t.alarm.severity,
        by: t.by,
        note: t.note,
        ...(t.type === 'alarm.assigned' ? { assignee: t.alarm.assignee ?? null } : {}),
        ...(t.type === 'alarm.resolved' ? { disposal: t.alarm.disposal ?? null } : {}),
        ...(t.held ? { held: t.held } : {}),
      }));
      const escalation = deps.escalationOf?.(id) ?? null;
      return { alarm: found, history, ...(escalation ? { escalation } : {}) };
    },
  );

  const actions = {
    ack: { summary: 'Acknowledge an alarm', conflicts: ['alarm_resolved', 'alarm_already_acknowledged', 'alarm_reoccurred'] },
    resolve: {
      summary: 'Record the disposal (处置) and close a cleared alarm',
      conflicts: ['alarm_resolved', 'alarm_still_active', 'disposal_required', 'alarm_reoccurred'],
    },
  } as const;
  for (const action of ['ack', 'resolve'] as const) {
    api.post(
      `/api/alarms/:id/${action}`,
      {
        config: { role: 'operator' },
        preValidation: byTheUser,
        schema: {
          summary: actions[action].summary,
          tags: ['alarms'],
          params: idParams,
          body: action === 'resolve' ? resolveBody : ackBody,
          response: {
            200: z.object({ alarm }).meta({ description: 'the alarm after the action', examples: [{ alarm: EXAMPLE_ALARM }] }),
            ...errorResponses([
              ...AUTH_ERRORS,
              'validation_failed',
              'alarm_not_found',
              ...actions[action].conflicts,
              'cluster_unavailable',
              'payload_too_large',
              'unsupported_media_type',
            ]),
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const result = await ackOrResolve({ act, audit: deps.audit }, request, action, id, request.body as AckOrResolveFields);
        if (!result.ok) return sendError(reply, result.error.code, `cannot ${action} alarm ${id}: ${result.error.code.replace(/_/g, ' ')}`);
        return { alarm: result.transition.alarm };
      },
    );
  }

  api.post(
    '/api/alarms/:id/assign',
    {
      config: { role: 'dispatcher' },
      preValidation: byTheUser,
      schema: {
        summary: 'Assign (or re-assign) an alarm to its responsible person',
        tags: ['alarms'],
        params: idParams,
        body: assignBody,
        response: {
          200: z.object({ alarm }).meta({ description: 'the alarm, assigned', examples: [{ alarm: EXAMPLE_ALARM }] }),
          ...errorResponses([
            ...AUTH_ERRORS,
            'validation_failed',
            'alarm_not_found',
            'alarm_resolved',
            'cluster_unavailable',
            'payload_too_large',
            'unsupported_media_type',
          ]),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { to, by, note } = request.body;
      const actor = request.caller?.kind === 'user' ? request.caller.name : by;
      const result = await act({ kind: 'assign', id, to, by: actor, note: note ?? null });
      // to whom: the log of who was made responsible for what
      deps.audit(request, {
        action: 'alarm.assign',
        target: id,
        outcome: result.ok ? 'ok' : result.error.code,
        note: note ?? null,
        by,
        detail: { to },
      });
      if (!result.ok) return sendError(reply, result.error.code, `cannot assign alarm ${id}: ${result.error.code.replace(/_/g, ' ')}`);
      return { alarm: result.transition.alarm };
    },
  );
}
