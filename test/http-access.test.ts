import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../gateway/src/config/config-schema.js';
import { hashSecret } from '../gateway/src/devices/secret-hash.js';
import { api, eventually, metricValue, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, dispatcher: 3, admin: 4 };
const CALLERS = [null, 'viewer', 'operator', 'dispatcher', 'admin'] as const;
/** The test tokens, and one of the dispatcher's seat (between operator and admin). */
const CALLER_TOKENS: Record<Role, string> = { ...TOKENS, dispatcher: 'test-dispatcher-token-1' };

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: any;
}

/** One real HTTP request; an SSE answer is cut off once its headers are in. */
async function request(
  baseUrl: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    body: init.body ?? null,
    signal: abort.signal,
  });
  const contentType = response.headers.get('content-type') ?? '';
  if (contentType.startsWith('text/event-stream')) {
    abort.abort();
    return { status: response.status, contentType, headers: response.headers, body: null };
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (metrics, console)
  }
  return { status: response.status, contentType, headers: response.headers, body };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
/** A route path with every `:param` filled in. */
const fill = (url: string, value: string): string => url.replace(/:[A-Za-z]+/g, value);

describe('authorization, as a table over every route of the running server', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        api: { tokens: Object.entries(CALLER_TOKENS).map(([role, token]) => ({ name: `test-${role}`, role, token })) },
      },
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('answers every route × {no token, viewer, operator, dispatcher, admin} as the route’s role says', async () => {
    const routes = gateway.http.routes();
    // The list is the server's own: the API routes of contract §6 are all there.
    for (const expected of [
      'GET /api/alarms',
      'GET /api/alarms/stream',
      'GET /api/quarantine',
      'GET /api/webhooks/dead-letters',
      'GET /api/audit',
      'GET /api/audit.csv',
      'POST /api/users',
      'POST /api/tokens',
    ])
      expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(expected);
    // Nothing under /api is public: only the PUBLIC_ROUTES (health, metrics, console, the API document, the login)
    // and the docs page go without a token.
    expect(routes.filter((r) => r.url.startsWith('/api') && r.role === null)).toEqual([]);
    const publicRoutes = new Set(routes.filter((r) => r.role === null && r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
    expect(publicRoutes).toEqual(
      new Set([
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /',
        'GET /console/:file',
        'GET /openapi.json',
        'POST /auth/login',
        'GET /docs',
        'GET /docs/static/index.html',
        'GET /docs/static/swagger-initializer.js',
        'GET /docs/json',
        'GET /docs/yaml',
        'GET /docs/static/*',
      ]),
    );

    const mismatches: string[] = [];
    for (const route of routes) {
      for (const caller of CALLERS) {
        const headers: Record<string, string> = caller ? bearer(CALLER_TOKENS[caller]) : {};
        const post = route.method === 'POST';
        const answer = await request(gateway.httpUrl, fill(route.url, 'x'), {
          method: route.method,
          headers: post ? { ...headers, 'content-type': 'application/json' } : headers,
          ...(post ? { body: '{}' } : {}),
        });
        const expected =
          route.role === null ? 'allowed' : caller === null ? 401 : RANK[caller] < RANK[route.role] ? 403 : ('allowed' as const);
        const ok =
          expected === 'allowed'
            ? answer.status !== 401 && answer.status !== 403 && answer.status < 500
            : answer.status === expected &&
              (route.method === 'HEAD' || answer.body?.error?.code === (expected === 401 ? 'unauthorized' : 'forbidden'));
        if (!ok) mismatches.push(`${route.method} ${route.url} as ${caller ?? 'anonymous'}: ${answer.status}, expected ${expected}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('takes ?access_token= on the alarm stream only, never on reads or actions', async () => {
    const stream = await request(gateway.httpUrl, `/api/alarms/stream?access_token=${TOKENS.viewer}`);
    expect(stream.status).toBe(200);
    expect(stream.contentType).toMatch(/^text\/event-stream/);

    const read = await request(gateway.httpUrl, `/api/alarms?access_token=${TOKENS.admin}`);
    expect(read.status).toBe(401);
    expect(read.body.error.message).toContain('only by GET /api/alarms/stream');
    for (const path of ['/api/quarantine', '/api/webhooks/dead-letters', '/api/devices']) {
      expect((await request(gateway.httpUrl, `${path}?access_token=${TOKENS.admin}`)).status).toBe(401);
    }
    const action = await request(gateway.httpUrl, `/api/rules/reload?access_token=${TOKENS.admin}`, { method: 'POST' });
    expect(action.status).toBe(401);
  });

  it('reads the Bearer scheme case-insensitively (RFC 7235) and refuses other schemes', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr'])
      expect((await request(gateway.httpUrl, '/api/alarms', { headers: { authorization: `${scheme} ${TOKENS.viewer}` } })).status).toBe(
        200,
      );
    expect((await request(gateway.httpUrl, '/api/alarms', { headers: { authorization: `Bearer   ${TOKENS.viewer}` } })).status).toBe(200);
    const basic = await request(gateway.httpUrl, '/api/alarms', {
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKENS.viewer}`).toString('base64')}` },
    });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 413 payload_too_large and 415 unsupported_media_type with their own codes', async () => {
    const big = await request(gateway.httpUrl, '/api/alarms/x/ack', {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'someone', note: 'x'.repeat(100 * 1024) }),
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');

    const text = await request(gateway.httpUrl, '/api/alarms/x/ack', {
      method: 'POST',
      headers: { ...bearer(TOKENS.admin), 'content-type': 'text/plain' },
      body: 'by=someone',
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
  });

  it('answers hostile query keys, values and route params with 400/404 or ignores them — never 500, never a prototype', async () => {
    const hostile = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype'];
    const queries = hostile.flatMap((word) => [
      `${word}=x`,
      `state=${word}`,
      `severity=${word}`,
      `reason=${word}`,
      `limit=${word}`,
      `lastEventId=${word}`,
      `${word}[x]=1`,
    ]);
    const failures: string[] = [];
    for (const route of gateway.http.routes().filter((r) => r.method === 'GET')) {
      for (const value of hostile) {
        for (const query of ['', ...queries]) {
          const path = `${fill(route.url, encodeURIComponent(value))}${query ? `?${query}` : ''}`;
          const answer = await request(gateway.httpUrl, path, { headers: { ...bearer(TOKENS.admin), 'last-event-id': value } });
          const allowed = answer.status < 500 && (answer.status !== 400 || answer.body?.error?.code === 'validation_failed');
          if (!allowed) failures.push(`${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
        }
        if (!route.url.includes(':')) break; // the path has no param to vary
      }
    }
    expect(failures).toEqual([]);

    const badState = await api(gateway, '/api/alarms?state=constructor', { token: TOKENS.viewer });
    expect(badState.status).toBe(400);
    expect(badState.body.error.details[0].path).toBe('state');
    expect((await api(gateway, '/api/quarantine?reason=__proto__', { token: TOKENS.viewer })).status).toBe(400);
    expect((await api(gateway, '/api/alarms/constructor', { token: TOKENS.viewer })).body.error.code).toBe('alarm_not_found');
    expect((await api(gateway, '/api/webhooks/__proto__/enable', { method: 'POST', token: TOKENS.admin })).body.error.code).toBe(
      'webhook_not_found',
    );
    expect((await api(gateway, '/api/webhooks/dead-letters/constructor/replay', { method: 'POST' })).body.error.code).toBe(
      'dead_letter_not_found',
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect((await api(gateway, '/healthz', { token: null })).status).toBe(200);
  });
});

describe('API tokens stored as hashes', () => {
  let gateway: TestGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
  });

  it('accepts a token whose config holds only its sha256$ hash, beside plain ones', async () => {
    const operatorToken = 'hashed-operator-token-0001';
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        api: {
          tokens: [
            { name: 'desk', role: 'operator', tokenHash: await hashSecret(operatorToken) },
            { name: 'wall', role: 'viewer', token: TOKENS.viewer },
          ],
        },
      },
    });
    expect((await api(gateway, '/api/alarms', { token: operatorToken })).status).toBe(200);
    const ack = await api(gateway, '/api/alarms/alm_nope/ack', { token: operatorToken, body: { by: 'desk' } });
    expect(ack.body.error.code).toBe('alarm_not_found');
    expect((await api(gateway, '/api/rules/reload', { token: operatorToken, method: 'POST' })).status).toBe(403);
    expect((await api(gateway, '/api/alarms/alm_nope/ack', { token: TOKENS.viewer, body: { by: 'wall' } })).status).toBe(403);
    // The hash itself is not a token.
    const stored = (gateway.config.api.tokens[0] as { tokenHash: string }).tokenHash;
    expect((await api(gateway, '/api/alarms', { token: stored })).status).toBe(401);
    expect((await api(gateway, '/api/alarms', { token: `${operatorToken}x` })).status).toBe(401);
  });
});

describe('failed authentication is rate limited per source address', () => {
  let gateway: TestGateway | undefined;
  afterEach(async () => {
    await gateway?.close();
  });

  it('answers 429 rate_limited with Retry-After after too many unknown tokens, even to a valid one, and counts it', async () => {
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        api: {
          tokens: [{ name: 'viewer', role: 'viewer', token: TOKENS.viewer }],
          authFailures: { max: 3, window: '2s' },
        },
      },
    });
    // A missing token guesses nothing: it is refused but not counted against the address.
    for (let i = 0; i < 5; i += 1) expect((await api(gateway, '/api/alarms', { token: null })).status).toBe(401);
    for (let i = 0; i < 3; i += 1) expect((await api(gateway, '/api/alarms', { token: `guess-${i}-0000000000000` })).status).toBe(401);
    // max (3) failures allowed; after them nothing is checked, the right token included: no fourth guess
    expect((await api(gateway, '/api/alarms', { token: TOKENS.viewer })).status).toBe(429);

    const blocked = await request(gateway.httpUrl, '/api/alarms', { headers: bearer('guess-3-0000000000000') });
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('rate_limited');
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(2);
    // While blocked, even the right token is refused: guessing cannot go faster than the limit.
    expect((await api(gateway, '/api/alarms', { token: TOKENS.viewer })).status).toBe(429);
    // Public routes are not affected.
    expect((await api(gateway, '/healthz', { token: null })).status).toBe(200);

    const metrics = (await api(gateway, '/metrics', { token: null })).body as string;
    expect(metricValue(metrics, 'gateway_http_auth_failures_total', { reason: 'rate_limited' })).toBe(3);
    expect(metricValue(metrics, 'gateway_http_auth_failures_total', { reason: 'bad_token' })).toBe(3);
    expect(metricValue(metrics, 'gateway_http_auth_failures_total', { reason: 'missing_token' })).toBe(5);

    // Once the window has passed, the right token works again.
    await eventually('the address unblocked', async () =>
      (await api(gateway!, '/api/alarms', { token: TOKENS.viewer })).status === 200 ? true : undefined,
    );
  });

  it('behind a trusted proxy (http.trustProxy) counts each client by its X-Forwarded-For address, and trusts no one by default', async () => {
    const guess = (client: string, i: number) =>
      request(gateway!.httpUrl, '/api/alarms', { headers: { ...bearer(`guess-${client}-${i}-00000000000`), 'x-forwarded-for': client } });
    const limits = {
      influx: { mode: 'off' },
      api: { tokens: [{ name: 'viewer', role: 'viewer', token: TOKENS.viewer }], authFailures: { max: 3, window: '1m' } },
    };
    gateway = await startTestGateway({ overrides: { ...limits, http: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] } } });
    for (let i = 0; i < 3; i += 1) expect((await guess('203.0.113.7', i)).status).toBe(401);
    expect((await guess('203.0.113.7', 3)).status).toBe(429);
    // another client behind the same proxy is not blocked by the first one's guesses
    expect((await guess('198.51.100.20', 0)).status).toBe(401);
    await gateway.close();

    // not trusted: X-Forwarded-For is the client's claim and ignored; the proxy's own address is what counts
    gateway = await startTestGateway({ overrides: limits });
    for (let i = 0; i < 3; i += 1) expect((await guess(`192.0.2.${i}`, i)).status).toBe(401);
    expect((await guess('192.0.2.99', 9)).status).toBe(429);
  });
});
