import { fastifySSE } from '@fastify/sse';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { ApiToken } from '../config/config-schema.js';
import { registerConsoleRoutes } from '../console/console-routes.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { Quarantine } from '../ingest/quarantine.js';
import type { Logger } from '../observability/logger.js';
import type { ReloadResult } from '../rule-files/rule-reloader.js';
import type { LiveFeed } from '../sinks/live-feed/live-feed.js';
import type { WebhookSink } from '../sinks/webhook/webhook-sink.js';
import { sendError } from './api-error.js';
import { createAuthenticator } from './auth.js';
import { registerAlarmRoutes } from './routes/alarm-routes.js';
import { registerDeviceRoutes } from './routes/device-routes.js';
import { type MetricsSource, type ReadinessCheck, registerHealthRoutes } from './routes/health-routes.js';
import { registerRuleRoutes } from './routes/rule-routes.js';
import { registerStreamRoutes } from './routes/stream-routes.js';
import { registerWebhookRoutes } from './routes/webhook-routes.js';

export interface HttpServerDeps {
  tokens: readonly ApiToken[];
  metricsPublic: boolean;
  metrics: MetricsSource;
  readiness(): ReadinessCheck[];
  alarms: AlarmService;
  liveFeed: LiveFeed;
  registry: DeviceRegistry;
  deviceStatus: DeviceStatusBook;
  quarantine: Quarantine;
  webhooks: WebhookSink;
  reloadRules(): Promise<ReloadResult>;
  log: Logger;
}

export interface HttpServer {
  readonly app: FastifyInstance;
  start(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** The HTTP API of contract §6 (+ quarantine and webhook administration). */
export async function createHttpServer(deps: HttpServerDeps): Promise<HttpServer> {
  // Per-request logs are left to /metrics; the HTTP logger reports warnings and errors.
  const app = Fastify({
    loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
  });
  app.decorateRequest('caller', null);
  await app.register(fastifySSE, { heartbeatInterval: 15_000 });
  app.addHook('onRequest', createAuthenticator(deps.tokens));

  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, 'validation_failed', error.message, { fastifyCode: error.code });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return sendError(reply, 'internal', 'internal error');
  });

  registerHealthRoutes(app, { readiness: deps.readiness, metrics: deps.metrics, metricsPublic: deps.metricsPublic });
  registerAlarmRoutes(app, { alarms: deps.alarms });
  registerStreamRoutes(app, { liveFeed: deps.liveFeed });
  registerDeviceRoutes(app, { registry: deps.registry, deviceStatus: deps.deviceStatus, quarantine: deps.quarantine });
  registerWebhookRoutes(app, { webhooks: deps.webhooks });
  registerRuleRoutes(app, { reloadRules: deps.reloadRules });
  registerConsoleRoutes(app);

  return {
    app,
    start: (host, port) => app.listen({ host, port }),
    close: () => app.close(),
  };
}
