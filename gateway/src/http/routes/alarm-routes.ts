import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { severitySchema } from '../../../../rules/src/index.js';
import type { AlarmService } from '../../alarms/alarm-service.js';
import { sendError } from '../api-error.js';
import { parseOr400 } from '../validate.js';

const listQuery = z.object({
  state: z.enum(['open', 'active', 'cleared', 'all']).default('open'),
  site: z.string().optional(),
  device: z.string().optional(),
  severity: severitySchema.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
});

const actionBody = z.object({
  by: z.string().trim().min(1, 'who acts is required').max(200),
  note: z.string().max(4_000).optional(),
});

const idParams = z.object({ id: z.string().min(1) });

export function registerAlarmRoutes(app: FastifyInstance, deps: { alarms: AlarmService }): void {
  app.get('/api/alarms', { config: { role: 'viewer' } }, async (request, reply) => {
    const query = parseOr400(listQuery, request.query, reply);
    if (!query) return reply;
    const alarms = deps.alarms.book.list(query).slice(0, query.limit);
    return { alarms, count: alarms.length };
  });

  app.get('/api/alarms/:id', { config: { role: 'viewer' } }, async (request, reply) => {
    const params = parseOr400(idParams, request.params, reply);
    if (!params) return reply;
    const alarm = deps.alarms.book.get(params.id);
    if (!alarm) return sendError(reply, 'alarm_not_found', `no alarm ${params.id}`);
    const history = deps.alarms.book.history(params.id).map((t) => ({
      type: t.type,
      at: new Date(t.at).toISOString(),
      seq: t.alarm.seq,
      severity: t.alarm.severity,
      by: t.by,
      note: t.note,
    }));
    return { alarm, history };
  });

  for (const action of ['ack', 'resolve'] as const) {
    app.post(`/api/alarms/:id/${action}`, { config: { role: 'operator' } }, async (request, reply) => {
      const params = parseOr400(idParams, request.params, reply);
      if (!params) return reply;
      const body = parseOr400(actionBody, request.body ?? {}, reply);
      if (!body) return reply;
      const result =
        action === 'ack'
          ? deps.alarms.acknowledge(params.id, body.by, body.note ?? null)
          : deps.alarms.resolve(params.id, body.by, body.note ?? null);
      if (!result.ok)
        return sendError(reply, result.error.code, `cannot ${action} alarm ${params.id}: ${result.error.code.replace(/_/g, ' ')}`);
      return { alarm: result.transition.alarm };
    });
  }
}
