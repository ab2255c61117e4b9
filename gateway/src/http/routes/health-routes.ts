import type { FastifyInstance } from 'fastify';

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

export function registerHealthRoutes(app: FastifyInstance, deps: HealthRouteDeps): void {
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
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
  });

  app.get('/metrics', { config: deps.metricsPublic ? { public: true } : { role: 'viewer' } }, async (_request, reply) => {
    const text = await deps.metrics.text();
    return reply.type(deps.metrics.contentType).send(text);
  });
}
