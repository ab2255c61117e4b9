import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../gateway/src/config/load-config.js';
import { type RunningGateway, startGateway } from '../../gateway/src/gateway.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import type { Severity, VerdictChange } from '../../rules/src/index.js';

/** One shared token per role (`api.tokens`). */
export const ROLE_TOKENS = {
  viewer: 'unit-viewer-token-00001',
  operator: 'unit-operator-token-001',
  dispatcher: 'unit-dispatcher-token-1',
  admin: 'unit-admin-token-000001',
} as const;

/** A device secret's hash that no device will ever present (the HTTP tests connect none). */
const SECRET_HASH = 'sha256$c2FsdA==$aGFzaA==';

/**
 * A whole gateway in-process for the HTTP API's unit tests: no InfluxDB (`influx.mode: off`), the telemetry lane on
 * the main thread, a fresh data directory, loopback ports chosen by the system (about 0.2–0.7 s to start).
 * Requests go through fastify's `inject` (`call`), the same routes, hooks and error handler as over a socket.
 */
export async function startHttpGateway(
  api: Record<string, unknown> = {},
  more: Record<string, unknown> = {},
  now?: () => number,
): Promise<RunningGateway> {
  const config = validateConfig(
    {
      mqtt: { tcp: { host: '127.0.0.1', port: 0 } },
      http: { host: '127.0.0.1', port: 0 },
      influx: { mode: 'off' },
      lane: { thread: 'main' },
      dataDir: mkdtempSync(join(tmpdir(), 'gateway-http-unit-')),
      devices: [
        { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: SECRET_HASH },
        { id: 'dc-02', site: 'site-a', profile: 'dust-collector', secretHash: SECRET_HASH },
        { id: 'dc-09', site: 'site-b', profile: 'dust-collector', secretHash: SECRET_HASH },
      ],
      api: { tokens: Object.entries(ROLE_TOKENS).map(([role, token]) => ({ name: `shared-${role}`, role, token })), ...api },
      logLevel: 'silent',
      handling: { deadline: { enabled: false } },
      ...more,
    },
    '(test)',
  );
  return startGateway({ config, log: createLogger('silent'), ...(now ? { now } : {}) });
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  body: any;
}

/** A request through the gateway's HTTP server: `token` a role's shared token or a raw one (null: none). */
export async function call(
  gateway: RunningGateway,
  path: string,
  init: { token?: string | null; method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const token = init.token === undefined ? ROLE_TOKENS.admin : init.token;
  const method = (init.method ?? (init.body === undefined ? 'GET' : 'POST')) as 'GET';
  const response = await gateway.http.app.inject({
    method,
    url: path,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { payload: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  let body: unknown = response.body;
  try {
    body = JSON.parse(response.body);
  } catch {
    // a text answer (CSV, metrics)
  }
  return { status: response.statusCode, headers: response.headers, text: response.body, body };
}

/** A rule's verdict that raises (or changes) the alarm of `hopper_temp_high` on a device at `at`. */
export const raised = (device: string, severity: Severity, at: number, site = 'site-a', value = 85): VerdictChange => ({
  key: `${site}/${device}/hopper_temp_high`,
  site,
  device,
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: `${site}/${device}`,
  verdict: { status: 'true', severity, metric: 'hopper_temp', value, threshold: 80, unit: '°C', message: `hot ${device}` },
  at,
});

/** The verdict that clears that alarm. */
export const cleared = (device: string, at: number, site = 'site-a'): VerdictChange => ({
  ...raised(device, 'orange', at, site),
  verdict: { status: 'false' },
});
