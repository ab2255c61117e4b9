import type { FastifyInstance } from 'fastify';
import type { WebhookSink } from '../../sinks/webhook/webhook-sink.js';
import { sendError } from '../api-error.js';

export function registerWebhookRoutes(app: FastifyInstance, deps: { webhooks: WebhookSink }): void {
  app.get('/api/webhooks', { config: { role: 'viewer' } }, async () => ({ subscribers: deps.webhooks.subscribers() }));

  app.get('/api/webhooks/dead-letters', { config: { role: 'viewer' } }, async () => {
    const deadLetters = deps.webhooks.deadLetters();
    return { deadLetters, count: deadLetters.length };
  });

  app.post('/api/webhooks/dead-letters/:id/replay', { config: { role: 'admin' } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!deps.webhooks.replay(id)) return sendError(reply, 'dead_letter_not_found', `no dead letter ${id}`);
    return reply.code(202).send({ replayed: id });
  });
}
