import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { WebhookSink } from '../../sinks/webhook/webhook-sink.js';
import { sendError } from '../api-error.js';
import { parseOr400 } from '../validate.js';

const idParams = z.object({ id: z.string().min(1).max(200) });

export function registerWebhookRoutes(app: FastifyInstance, deps: { webhooks: WebhookSink }): void {
  app.get('/api/webhooks', { config: { role: 'viewer' } }, async () => ({ subscribers: deps.webhooks.subscribers() }));

  app.get('/api/webhooks/dead-letters', { config: { role: 'viewer' } }, async () => {
    const deadLetters = deps.webhooks.deadLetters();
    return { deadLetters, count: deadLetters.length };
  });

  app.post('/api/webhooks/dead-letters/:id/replay', { config: { role: 'admin' } }, async (request, reply) => {
    const params = parseOr400(idParams, request.params, reply);
    if (!params) return reply;
    if (!deps.webhooks.replay(params.id)) return sendError(reply, 'dead_letter_not_found', `no dead letter ${params.id}`);
    return reply.code(202).send({ replayed: params.id });
  });

  /** Re-enables a subscriber disabled by 410 Gone: new events flow again; its dead letters can be replayed. */
  app.post('/api/webhooks/:id/enable', { config: { role: 'admin' } }, async (request, reply) => {
    const params = parseOr400(idParams, request.params, reply);
    if (!params) return reply;
    const subscriber = deps.webhooks.enable(params.id);
    if (!subscriber) return sendError(reply, 'webhook_not_found', `no webhook subscriber ${params.id}`);
    return { subscriber };
  });
}
