import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alarmEventSchema } from '../../../../rules/src/index.js';
import { DEAD_LETTER_REASONS, type DeadLetter } from '../../sinks/webhook/webhook-outbox.js';
import type { WebhookSink } from '../../sinks/webhook/webhook-sink.js';
import type { SubscriberState } from '../../sinks/webhook/webhook-subscriber.js';
import { AUTH_ERRORS, errorResponses, sendError } from '../api-error.js';
import type { AuditRecorder } from '../audit-request.js';
import { EXAMPLE_ALARM } from './example-alarm.js';

const id = z.string().min(1).max(200);

const subscriber = z.object({
  id: z.string(),
  kind: z.enum(['standard', 'wecom', 'dingtalk']).describe('standard: Standard Webhooks; wecom, dingtalk: a group robot'),
  url: z.string().describe("the configured url; a group robot's key or access_token shown as ***"),
  enabled: z.boolean(),
  disabledReason: z.string().nullable().describe('why it was disabled (410 Gone), or null'),
  disabledAt: z.string().nullable().describe('when it was disabled (ISO 8601), or null; a restart keeps it disabled'),
  queued: z.number().int().min(0),
  inFlight: z.number().int().min(0),
  delivered: z.number().int().min(0),
  failedAttempts: z.number().int().min(0),
  lastError: z.string().nullable(),
}) satisfies z.ZodType<SubscriberState>;

const EXAMPLE_SUBSCRIBER = {
  id: 'duty-desk',
  kind: 'standard',
  url: 'https://duty.example.org/hooks/alarms',
  enabled: true,
  disabledReason: null,
  disabledAt: null,
  queued: 0,
  inFlight: 0,
  delivered: 42,
  failedAttempts: 1,
  lastError: null,
} as const satisfies z.input<typeof subscriber>;

const deadLetter = z.object({
  id: z.string(),
  subscriber: z.string(),
  event: alarmEventSchema,
  attempts: z.number().int().min(0),
  reason: z.enum(DEAD_LETTER_REASONS),
  lastError: z.string(),
  deadAt: z.string().describe('ISO 8601'),
}) satisfies z.ZodType<DeadLetter>;

const EXAMPLE_DEAD_LETTER = {
  id: 'dlq_01JD7QA4S0M9R1X2Y3Z4A5B6C7',
  subscriber: 'duty-desk',
  event: {
    type: 'alarm.raised',
    id: 'evt_01JD7Q7M1W0000000000000000',
    timestamp: '2026-11-22T08:00:03.120Z',
    data: { alarm: EXAMPLE_ALARM },
  },
  attempts: 8,
  reason: 'exhausted',
  lastError: 'HTTP 503',
  deadAt: '2026-11-22T09:12:40.000Z',
} as const satisfies z.input<typeof deadLetter>;

export function registerWebhookRoutes(app: FastifyInstance, deps: { webhooks: WebhookSink; audit: AuditRecorder }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/webhooks',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Webhook subscribers and their delivery state',
        tags: ['webhooks'],
        response: {
          200: z
            .object({ subscribers: z.array(subscriber) })
            .meta({ description: 'every subscriber', examples: [{ subscribers: [EXAMPLE_SUBSCRIBER] }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async () => ({ subscribers: deps.webhooks.subscribers() }),
  );

  api.get(
    '/api/webhooks/dead-letters',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Webhook deliveries given up on',
        tags: ['webhooks'],
        response: {
          200: z
            .object({ deadLetters: z.array(deadLetter), count: z.number().int() })
            .meta({ description: 'the dead letters', examples: [{ deadLetters: [EXAMPLE_DEAD_LETTER], count: 1 }] }),
          ...errorResponses(AUTH_ERRORS),
        },
      },
    },
    async () => {
      const deadLetters = deps.webhooks.deadLetters();
      return { deadLetters, count: deadLetters.length };
    },
  );

  const deliveryRecord = z.object({
    eventId: z.string().describe('the webhook-id'),
    type: z.string(),
    alarmId: z.string(),
    seq: z.number().int(),
    attempts: z.number().int().describe('attempts it took, the one that succeeded included'),
    deliveredAt: z.string(),
  });
  const EXAMPLE_DELIVERY = {
    eventId: 'evt_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
    type: 'alarm.raised',
    alarmId: 'alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
    seq: 1,
    attempts: 1,
    deliveredAt: '2026-11-22T08:00:03.412Z',
  };
  api.get(
    '/api/webhooks/:id/deliveries',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "The subscriber's delivery log: what its receiver took, newest first",
        tags: ['webhooks'],
        params: z.object({ id: id.meta({ examples: [EXAMPLE_SUBSCRIBER.id] }) }),
        querystring: z.object({
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(10_000)
            .default(100)
            .meta({ examples: [50] }),
        }),
        response: {
          200: z
            .object({ deliveries: z.array(deliveryRecord), count: z.number().int() })
            .meta({ description: 'the delivery log', examples: [{ deliveries: [EXAMPLE_DELIVERY], count: 1 }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'webhook_not_found']),
        },
      },
    },
    async (request, reply) => {
      const deliveries = deps.webhooks.deliveries(request.params.id, request.query.limit);
      if (!deliveries) return sendError(reply, 'webhook_not_found', `no webhook subscriber ${request.params.id}`);
      return { deliveries, count: deliveries.length };
    },
  );

  api.post(
    '/api/webhooks/dead-letters/:id/replay',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Send a dead letter again (same webhook-id and body), or to another subscriber (`to`: its own body)',
        tags: ['webhooks'],
        params: z.object({ id: id.meta({ examples: [EXAMPLE_DEAD_LETTER.id] }) }),
        body: z
          .object({
            to: z
              .string()
              .min(1)
              .max(200)
              .optional()
              .describe('a configured subscriber to send it to instead (its own was renamed or removed)'),
          })
          .strict()
          .meta({ examples: [{ to: 'provincial-platform' }] })
          .optional(),
        response: {
          202: z.object({ replayed: z.string() }).meta({ description: 'queued again', examples: [{ replayed: EXAMPLE_DEAD_LETTER.id }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'dead_letter_not_found', 'subscriber_not_configured']),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const to = request.body?.to;
      const replayed = deps.webhooks.replay(id, to);
      const outcome = replayed.ok ? 'ok' : replayed.error === 'not_found' ? 'dead_letter_not_found' : 'subscriber_not_configured';
      deps.audit(request, { action: 'webhook.replay', target: id, outcome, ...(to ? { detail: { to } } : {}) });
      if (replayed.ok) return reply.code(202).send({ replayed: id });
      if (replayed.error === 'not_found') return sendError(reply, 'dead_letter_not_found', `no dead letter ${id}`);
      return sendError(
        reply,
        'subscriber_not_configured',
        `dead letter ${id} would go to subscriber ${replayed.subscriber}, which is not configured: replay it to another with { "to": "<subscriber id>" }`,
      );
    },
  );

  /** Re-enables a subscriber disabled by 410 Gone: new events flow again; its dead letters can be replayed. */
  api.post(
    '/api/webhooks/:id/enable',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Re-enable a subscriber disabled by 410 Gone',
        tags: ['webhooks'],
        params: z.object({ id: id.meta({ examples: [EXAMPLE_SUBSCRIBER.id] }) }),
        response: {
          200: z.object({ subscriber }).meta({ description: 'the subscriber, enabled', examples: [{ subscriber: EXAMPLE_SUBSCRIBER }] }),
          ...errorResponses([...AUTH_ERRORS, 'validation_failed', 'webhook_not_found']),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const enabled = deps.webhooks.enable(id);
      deps.audit(request, { action: 'webhook.enable', target: id, outcome: enabled ? 'ok' : 'webhook_not_found' });
      if (!enabled) return sendError(reply, 'webhook_not_found', `no webhook subscriber ${id}`);
      return { subscriber: enabled };
    },
  );
}
