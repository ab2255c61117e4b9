import rateLimit from '@fastify/rate-limit';
import { fastifySSE } from '@fastify/sse';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Inhibition } from '../../../rules/src/index.js';
import type { AccountService } from '../accounts/account-service.js';
import type { ActOnAlarm } from '../alarms/alarm-action.js';
import type { AlarmService } from '../alarms/alarm-service.js';
import type { EscalationState } from '../alarms/escalation-state.js';
import type { ShelfDesk } from '../alarms/shelf-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AlarmView } from '../cluster/alarm-mirror.js';
import type { ClusterNode } from '../cluster/cluster-node.js';
import type { ApiToken } from '../config/config-schema.js';
import { registerConsoleRoutes } from '../console/console-routes.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { DeviceStatusBook } from '../devices/device-status.js';
import type { ErrorCode } from '../errors.js';
import type { Quarantine } from '../ingest/quarantine.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ReloadResult } from '../rule-files/rule-reloader.js';
import type { TrendReader } from '../sinks/influx/trend-reader.js';
import type { LiveFeed } from '../sinks/live-feed/live-feed.js';
import type { WebhookSink } from '../sinks/webhook/webhook-sink.js';
import { sendError } from './api-error.js';
import { createAuditRecorder } from './audit-request.js';
import { type AuthFailureLimit, type AuthFailureLimiter, createAuthenticator } from './auth.js';
import { registerOpenApi } from './openapi.js';
import { RequestValidationError, useZodSchemas } from './request-validation.js';
import { createRouteAccessBook, type RouteAccess } from './route-access.js';
import { registerAlarmRoutes } from './routes/alarm-routes.js';
import { registerAuditRoutes } from './routes/audit-routes.js';
import { registerClusterRoutes } from './routes/cluster-routes.js';
import { registerDeviceRoutes } from './routes/device-routes.js';
import { type MetricsSource, type ReadinessCheck, registerHealthRoutes } from './routes/health-routes.js';
import { registerInhibitionRoutes } from './routes/inhibition-routes.js';
import { registerRuleRoutes } from './routes/rule-routes.js';
import { registerSessionRoutes } from './routes/session-routes.js';
import { registerShelfRoutes } from './routes/shelf-routes.js';
import { registerStreamRoutes } from './routes/stream-routes.js';
import { registerTrendRoutes } from './routes/trend-routes.js';
import { registerUserRoutes } from './routes/user-routes.js';
import { registerWebhookRoutes } from './routes/webhook-routes.js';

export interface HttpServerDeps {
  tokens: readonly ApiToken[];
  /** Failed authentications allowed per source address within `windowMs` before 429 `rate_limited`. */
  authFailures: { max: number; window: number };
  /** Named users, their sessions and personal tokens. */
  accounts: AccountService;
  audit: AuditLog;
  sessions: { ttl: number; secureCookie: boolean };
  /** Failed logins allowed per user name within `authFailures.window`. */
  loginFailuresPerUser: number;
  metricsPublic: boolean;
  gatewayMetrics: GatewayMetrics;
  metrics: MetricsSource;
  readiness(): ReadinessCheck[];
  alarms: AlarmService;
  /** In a cluster: every node's alarms, and actions taken on the node that judges the alarm's site. */
  alarmView?: AlarmView | undefined;
  alarmAction?: ActOnAlarm | undefined;
  /** In a cluster: the inhibition state of the sites other nodes judge (`GET /api/inhibitions` shows every site's). */
  inhibitionElsewhere?: (() => Pick<Inhibition, 'inhibitors' | 'held'>) | undefined;
  /** Shelving and maintenance windows (absent: their routes are not offered); in a cluster, taken where judged. */
  shelves?: ShelfDesk | undefined;
  /** Where an alarm stands in its escalation policy (null: none takes it). */
  escalationOf?: (id: string) => EscalationState | null;
  liveFeed: LiveFeed;
  registry: DeviceRegistry;
  deviceStatus: DeviceStatusBook;
  quarantine: Quarantine;
  /** Trends read back from InfluxDB; null while none is configured (`trendDisabledReason` says why). */
  trend: TrendReader | null;
  trendDisabledReason: string | null;
  webhooks: WebhookSink;
  reloadRules(): Promise<ReloadResult>;
  /** Proxies whose `X-Forwarded-For` gives the client's address (`http.trustProxy`); [] believes none. */
  trustProxy: readonly string[];
  /** This node's place in the cluster (a single node's stand-in without `cluster:`). */
  cluster: ClusterNode;
  log: Logger;
}

export interface HttpServer {
  readonly app: FastifyInstance;
  /** Every route of the server with the least role it needs (null: public). */
  routes(): RouteAccess[];
  start(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

/** Fastify's own client errors that have a code of their own in the catalogue; other 4xx are `validation_failed`. */
const CLIENT_ERRORS: ReadonlyMap<string, ErrorCode> = new Map([
  ['FST_ERR_CTP_BODY_TOO_LARGE', 'payload_too_large'],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'unsupported_media_type'],
]);

/** A name's failed logins from all addresses together may be this many times `api.loginFailuresPerUser`. */
const LOGIN_FAILURES_ANY_ADDRESS = 10;

const PROTO_KEY_BODY = 'a body key named __proto__, or constructor holding prototype, is not accepted';

/** Whether `text` is JSON at all (a body fastify refused may be JSON with a forbidden key). */
const validJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** The HTTP API of contract §6 (+ quarantine and webhook administration). */
export async function createHttpServer(deps: HttpServerDeps): Promise<HttpServer> {
  // Per-request logs are left to /metrics; the HTTP logger reports warnings and errors.
  const app = Fastify({
    loggerInstance: deps.log.child({}, { level: 'warn' }) as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    // what the router refuses before any route (a URL it cannot decode, a path parameter too long): the API's own
    // error body, as every other refusal, not fastify's
    frameworkErrors: (error, _request, reply) => {
      void sendError(reply, 'validation_failed', error.message, { fastifyCode: error.code });
    },
    ...(deps.trustProxy.length > 0 ? { trustProxy: [...deps.trustProxy] } : {}),
  });
  app.decorateRequest('caller', null);
  app.decorateRequest('callerStillAdmitted', null);
  // Routes validate their querystring, params and body with zod schemas, which also make the OpenAPI document.
  useZodSchemas(app);
  // Bodies are JSON only: anything else is 415 unsupported_media_type (fastify also parses text/plain by default).
  app.removeContentTypeParser('text/plain');
  // Fastify's JSON parser refuses a body with a `__proto__` key (or `constructor.prototype`) as "not valid JSON": the
  // same refusal, with its true reason.
  const jsonBody = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // An empty body said to be JSON (curl -X POST -H 'content-type: application/json' …) is no body: read as `{}` as a
  // POST without one is, not refused as invalid JSON.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    body === ''
      ? done(null, null)
      : jsonBody(request, body as string, (error, parsed) => {
          if (!error) return done(null, parsed);
          done(
            validJson(body as string)
              ? Object.assign(new Error(PROTO_KEY_BODY), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
              : error,
          );
        }),
  );
  await app.register(fastifySSE, { heartbeatInterval: 15_000 });
  // Counts only what the authenticator reports (failed authentications), keyed by source address.
  await app.register(rateLimit, { global: false, max: deps.authFailures.max, timeWindow: deps.authFailures.window });
  const authFailureLimit = app.createRateLimit();
  const limiter: AuthFailureLimiter = async (request, options) => judged(await authFailureLimit(request, options), options);
  // Failed logins of a name counted per source address: guessing one user's password from one address is slowed
  // down, but nobody elsewhere can lock a duty officer out of the console with a few wrong passwords in their name.
  // Across all addresses together a name takes LOGIN_FAILURES_ANY_ADDRESS times as many: a guess from many at once.
  // The name a login gives, or (a password change, whose body has none) the user changing theirs.
  const loginName = (request: FastifyRequest): string =>
    String((request.body as { name?: unknown } | null)?.name ?? request.caller?.name ?? '').toLowerCase();
  const loginFailureLimit = app.createRateLimit({
    max: deps.loginFailuresPerUser,
    timeWindow: deps.authFailures.window,
    keyGenerator: (request) => `login:${loginName(request)}@${request.ip}`,
  });
  const nameFailureLimit = app.createRateLimit({
    max: deps.loginFailuresPerUser * LOGIN_FAILURES_ANY_ADDRESS,
    timeWindow: deps.authFailures.window,
    keyGenerator: (request) => `login:${loginName(request)}`,
  });
  const userLimiter: AuthFailureLimiter = async (request, options) => {
    for (const limit of [await loginFailureLimit(request, options), await nameFailureLimit(request, options)]) {
      const verdict = judged(limit, options);
      if (verdict.isExceeded) return verdict;
    }
    return {};
  };
  const audit = createAuditRecorder(deps.audit);
  app.addHook(
    'onRequest',
    createAuthenticator({ tokens: deps.tokens, accounts: deps.accounts, limiter, metrics: deps.gatewayMetrics, audit }),
  );
  const access = createRouteAccessBook();
  app.addHook('onRoute', access.onRoute);

  // The SSE plugin answers a client that refuses text/event-stream with a body of its own: the API's error body instead.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode !== 406 || (typeof payload === 'string' && payload.startsWith('{"error":{'))) return payload;
    return JSON.stringify({ error: { code: 'not_acceptable', message: 'this route produces only text/event-stream: accept it' } });
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof RequestValidationError) return sendError(reply, 'validation_failed', error.message, error.problems);
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      const code = (error.code !== undefined && CLIENT_ERRORS.get(error.code)) || 'validation_failed';
      return sendError(reply, code, error.message, { fastifyCode: error.code });
    }
    // the path only: a query may carry a credential (the alarm stream's ?access_token=)
    request.log.error({ err: error, url: request.url.split('?')[0] }, 'request failed');
    return sendError(reply, 'internal', 'internal error');
  });

  await registerOpenApi(app);
  registerHealthRoutes(app, { readiness: deps.readiness, metrics: deps.metrics, metricsPublic: deps.metricsPublic });
  registerAlarmRoutes(app, { alarms: deps.alarms, audit, escalationOf: deps.escalationOf, view: deps.alarmView, act: deps.alarmAction });
  registerStreamRoutes(app, { liveFeed: deps.liveFeed, accounts: deps.accounts });
  registerDeviceRoutes(app, { registry: deps.registry, deviceStatus: deps.deviceStatus, quarantine: deps.quarantine });
  registerTrendRoutes(app, { registry: deps.registry, trend: deps.trend, trendDisabledReason: deps.trendDisabledReason });
  registerWebhookRoutes(app, { webhooks: deps.webhooks, audit });
  registerRuleRoutes(app, { reloadRules: deps.reloadRules, audit });
  if (deps.shelves) registerShelfRoutes(app, { shelves: deps.shelves, alarms: deps.alarmView ?? deps.alarms.book, audit });
  registerInhibitionRoutes(app, { alarms: deps.alarms, elsewhere: deps.inhibitionElsewhere });
  registerSessionRoutes(app, {
    accounts: deps.accounts,
    audit,
    addressLimiter: limiter,
    userLimiter,
    secureCookie: deps.sessions.secureCookie,
    sessionTtl: deps.sessions.ttl,
    metrics: deps.gatewayMetrics,
  });
  registerUserRoutes(app, { accounts: deps.accounts, audit });
  registerAuditRoutes(app, { audit: deps.audit });
  registerClusterRoutes(app, { cluster: deps.cluster });
  registerConsoleRoutes(app);

  return {
    app,
    routes: access.routes,
    start: (host, port) => app.listen({ host, port }),
    close: () => app.close(),
  };
}

/**
 * A failure limit as the gateway means it: `max` failures are allowed, and a request after them is refused. The
 * plugin's `isExceeded` is `current > max`: right after a failure is counted (the max-th fails as itself, the next
 * is over), one too late on a look that counts nothing (after `max` failures it would let one more be checked).
 */
function judged(
  limit: { isAllowed: true } | { isAllowed: false; isExceeded: boolean; remaining: number; ttlInSeconds: number },
  options?: { increment?: boolean },
): AuthFailureLimit {
  if (limit.isAllowed) return {};
  return { ...limit, isExceeded: options?.increment === false ? limit.remaining === 0 : limit.isExceeded };
}
