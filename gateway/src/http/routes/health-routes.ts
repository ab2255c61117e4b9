import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../api-error.js';

export interface ReadinessCheck {
  name: string;
  ready: boolean;
  reason: string | null;
}

/** The Prometheus exposition: its content type and text. */
export interface MetricsSource {
  contentType: string;
  text(): Promise<string>;
}

export interface HealthRouteDeps {
  readiness(): ReadinessCheck[];
  metrics: MetricsSource;
  metricsPublic: boolean;
}

const readinessCheck = z.object({ name: z.string(), ready: z.boolean(), reason: z.string().nullable() });

const readiness = z.object({
  ready: z.boolean(),
  checks: z.array(readinessCheck),
  reasons: z.array(z.string()).describe('why not ready: `name: reason` of every check that is not'),
  degraded: z.array(z.string()).describe('ready, but not as it should be (InfluxDB down while points wait in the durable spool)'),
});

const ready = readiness.meta({
  description: 'the broker listens and the sinks are usable (perhaps degraded)',
  examples: [
    {
      ready: true,
      checks: [
        { name: 'mqtt', ready: true, reason: null },
        { name: 'influxdb', ready: true, reason: 'degraded: spooling 1200 points (InfluxDB unreachable)' },
        { name: 'webhooks', ready: true, reason: null },
      ],
      reasons: [],
      degraded: ['influxdb: degraded: spooling 1200 points (InfluxDB unreachable)'],
    },
  ],
});

const notReady = readiness.meta({
  description: 'not ready; `reasons` says why',
  examples: [
    {
      ready: false,
      checks: [
        { name: 'mqtt', ready: false, reason: 'not listening' },
        { name: 'influxdb', ready: true, reason: null },
        { name: 'webhooks', ready: true, reason: null },
      ],
      reasons: ['mqtt: not listening'],
      degraded: [],
    },
  ],
});

export function registerHealthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: 200 while the process runs',
        tags: ['operations'],
        response: { 200: z.object({ status: z.literal('ok') }).meta({ description: 'the process runs', examples: [{ status: 'ok' }] }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  api.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness: 200 when the broker listens and the sinks are usable, 503 with the reasons otherwise',
        tags: ['operations'],
        response: { 200: ready, 503: notReady },
      },
    },
    async (_request, reply) => {
      const checks = deps.readiness();
      const ready = checks.every((check) => check.ready);
      const say = (c: ReadinessCheck): string => `${c.name}: ${c.reason}`;
      return reply.code(ready ? 200 : 503).send({
        ready,
        checks,
        reasons: checks.filter((c) => !c.ready).map(say),
        // Ready, but not as it should be (InfluxDB down while points wait in the durable spool).
        degraded: checks.filter((c) => c.ready && c.reason?.startsWith('degraded')).map(say),
      });
    },
  );

  api.get(
    '/metrics',
    {
      config: deps.metricsPublic ? { public: true } : { role: 'viewer' },
      schema: {
        summary: 'Prometheus text exposition (public while api.metricsPublic is on, else the viewer role)',
        tags: ['operations'],
        response: {
          200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } },
          ...errorResponses(deps.metricsPublic ? [] : ['unauthorized', 'forbidden', 'rate_limited']),
        },
      },
    },
    async (_request, reply) => {
      const text = await deps.metrics.text();
      return reply.type(deps.metrics.contentType).send(text);
    },
  );
}
