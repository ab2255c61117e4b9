import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROLE_TOKENS, raised, startHttpGateway } from '../../../test/support/http-gateway.js';
import { hmacKey } from '../devices/secret-hash.js';
import type { RunningGateway } from '../gateway.js';
import { bearerToken, cookieValue } from './auth.js';

const T0 = Date.UTC(2026, 11, 3, 8, 0);
const SALT = Buffer.from('unit-salt');
const HASHED = 'hashed-token-of-the-file-01';
const tokenHash = `sha256$${SALT.toString('base64')}$${hmacKey(HASHED, SALT).toString('base64')}`;

/** The audit log's newest entry of an action. */
const lastAudit = async (gateway: RunningGateway, action: string) =>
  (await call(gateway, `/api/audit?action=${action}&limit=1`)).body.entries[0];

describe('bearerToken and cookieValue', () => {
  it('reads the bearer scheme case-insensitively, with blanks around the token, and nothing else', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bEaReR \t abc \t')).toBe('abc');
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('Basic abc')).toBeNull();
    expect(bearerToken('Bearer')).toBeNull();
    expect(bearerToken('Bearer a b')).toBeNull();
    expect(bearerToken('xBearer abc')).toBeNull();
  });

  it('finds one cookie among several; an empty value or a name only as a suffix is none', () => {
    expect(cookieValue('a=1; gw_session= s1 ; b=2', 'gw_session')).toBe('s1');
    expect(cookieValue('gw_session=', 'gw_session')).toBeNull();
    expect(cookieValue('my_gw_session=1', 'gw_session')).toBeNull();
    expect(cookieValue('=x; gw_session=v=w', 'gw_session')).toBe('v=w');
    expect(cookieValue(undefined, 'gw_session')).toBeNull();
    expect(cookieValue('other=1', 'gw_session')).toBeNull();
  });
});

describe('the HTTP server of a gateway', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startHttpGateway({
      tokens: [
        ...Object.entries(ROLE_TOKENS).map(([role, token]) => ({ name: `shared-${role}`, role, token })),
        { name: 'from-hash', role: 'operator', tokenHash },
      ],
      metricsPublic: false,
    });
    gateway.alarms.apply([raised('dc-01', 'orange', T0)]);
  }, 60_000);
  afterAll(() => gateway.close());

  it('asks for a bearer token where none is given, hinting at ?access_token= where one was', async () => {
    const none = await call(gateway, '/api/alarms', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.body.error).toEqual({
      code: 'unauthorized',
      message: 'a valid bearer token is required (Authorization: Bearer <token>)',
    });
    const query = await call(gateway, `/api/alarms?access_token=${ROLE_TOKENS.admin}`, { token: null });
    expect(query.status).toBe(401);
    expect(query.body.error.message).toBe(
      'a valid bearer token is required (Authorization: Bearer <token>); ?access_token= is accepted only by GET /api/alarms/stream',
    );
    const other = await call(gateway, '/api/alarms', { token: null, headers: { authorization: `Basic ${ROLE_TOKENS.admin}` } });
    expect(other.status).toBe(401);
  });

  it('refuses an unknown token as invalid_token; knows shared tokens, hashed ones and the scheme in any case', async () => {
    const bad = await call(gateway, '/api/alarms', { token: 'not-a-known-token-1234' });
    expect(bad.status).toBe(401);
    expect(bad.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(bad.body.error.message).toBe('a valid bearer token is required (Authorization: Bearer <token>)');
    expect((await call(gateway, '/api/alarms', { token: ROLE_TOKENS.viewer })).status).toBe(200);
    expect((await call(gateway, '/api/alarms', { token: HASHED })).status).toBe(200);
    expect((await call(gateway, '/api/alarms', { token: `${HASHED}x` })).status).toBe(401);
    expect((await call(gateway, '/api/alarms', { token: ROLE_TOKENS.viewer.slice(0, -1) })).status).toBe(401);
    const lower = await call(gateway, '/api/alarms', { token: null, headers: { authorization: `bearer ${ROLE_TOKENS.viewer}` } });
    expect(lower.status).toBe(200);
    // the hashed token is an operator's: it acknowledges, recorded as its `by`
    const [alarm] = (await call(gateway, '/api/alarms')).body.alarms;
    const ack = await call(gateway, `/api/alarms/${alarm.id}/ack`, { token: HASHED, body: { by: 'Wang Li' } });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm.acknowledgedBy).toBe('Wang Li');
    const entry = await lastAudit(gateway, 'alarm.ack');
    expect(entry).toMatchObject({ actor: 'from-hash', actorKind: 'token', target: alarm.id, outcome: 'ok', by: 'Wang Li', note: null });
    expect(entry.address).toBe('127.0.0.1');
  });

  it('answers 403 to a role below the route’s, and records who tried what', async () => {
    const [alarm] = (await call(gateway, '/api/alarms')).body.alarms;
    const refused = await call(gateway, `/api/alarms/${alarm.id}/assign`, { token: ROLE_TOKENS.operator, body: { to: 'x', by: 'y' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: 'forbidden', message: 'this needs the dispatcher role; your token has operator' });
    const entry = await lastAudit(gateway, 'access.forbidden');
    expect(entry).toMatchObject({
      actor: 'shared-operator',
      actorKind: 'token',
      target: alarm.id,
      outcome: 'forbidden',
      detail: { method: 'POST', route: '/api/alarms/:id/assign', needs: 'dispatcher', role: 'operator' },
    });
    // the same refusal again within the minute (a script retrying): refused each time, written once
    for (let i = 0; i < 3; i++)
      expect(
        (await call(gateway, `/api/alarms/${alarm.id}/assign`, { token: ROLE_TOKENS.operator, body: { to: 'x', by: 'y' } })).status,
      ).toBe(403);
    const written = (await call(gateway, `/api/audit?action=access.forbidden&target=${alarm.id}`)).body.entries;
    expect(written).toHaveLength(1);
    expect((await call(gateway, '/api/rules/reload', { token: ROLE_TOKENS.dispatcher, body: {} })).status).toBe(403);
    expect((await lastAudit(gateway, 'access.forbidden')).target).toBeNull();
    expect((await call(gateway, '/api/audit', { token: ROLE_TOKENS.operator })).status).toBe(403);
    expect((await call(gateway, '/api/audit', { token: ROLE_TOKENS.dispatcher })).status).toBe(200);
  });

  it('answers every error as { error: { code, message, details } } with the catalogue’s status', async () => {
    const missing = await call(gateway, '/nowhere?x=1');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'not_found', message: 'no route GET /nowhere' } });
    const invalid = await call(gateway, '/api/alarms?state=bogus&limit=0');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('validation_failed');
    expect(invalid.body.error.details.map((d: { path: string }) => d.path)).toEqual(['state', 'limit']);
    expect(invalid.body.error.message).toBe(
      invalid.body.error.details.map((d: { path: string; message: string }) => `${d.path}: ${d.message}`).join('; '),
    );
    const [alarm] = (await call(gateway, '/api/alarms')).body.alarms;
    const root = await call(gateway, `/api/alarms/${alarm.id}/ack`, { body: [1] });
    expect(root.status).toBe(400);
    expect(root.body.error.details[0].path).toBe('(root)');
    const empty = await call(gateway, `/api/alarms/${alarm.id}/assign`, { method: 'POST' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.details.map((d: { path: string }) => d.path)).toEqual(['to', 'by']);
    const large = await call(gateway, `/api/alarms/${alarm.id}/ack`, { body: { by: 'x', note: 'n'.repeat(70 * 1024) } });
    expect(large.status).toBe(413);
    expect(large.body.error.code).toBe('payload_too_large');
    expect(large.body.error.details).toEqual({ fastifyCode: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const text = await call(gateway, `/api/alarms/${alarm.id}/ack`, { body: 'by=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const broken = await call(gateway, `/api/alarms/${alarm.id}/ack`, { body: '{"by":' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('validation_failed');
    expect(broken.body.error.details.fastifyCode).toBe('FST_ERR_CTP_INVALID_JSON_BODY');
    expect(broken.body.error.message).toBe("Body is not valid JSON but content-type is set to 'application/json'");
    // valid JSON with a key that reaches the prototype chain: refused all the same, saying why
    for (const body of ['{"__proto__":{"x":1},"by":"a"}', '{"by":"a","constructor":{"prototype":{"x":1}}}']) {
      const poisoned = await call(gateway, `/api/alarms/${alarm.id}/ack`, { body });
      expect(poisoned.status, body).toBe(400);
      expect(poisoned.body.error).toMatchObject({
        code: 'validation_failed',
        message: 'a body key named __proto__, or constructor holding prototype, is not accepted',
      });
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    // what the router refuses before any route: the same body
    const badUrl = await call(gateway, '/api/alarms/%E0%A4%A');
    expect([badUrl.status, badUrl.body.error.code, badUrl.body.error.details]).toEqual([
      400,
      'validation_failed',
      { fastifyCode: 'FST_ERR_BAD_URL' },
    ]);
    const longParam = await call(gateway, `/api/alarms/${'a'.repeat(200)}`);
    expect([longParam.status, longParam.body.error.code, longParam.body.error.details]).toEqual([
      400,
      'validation_failed',
      { fastifyCode: 'FST_ERR_MAX_PARAM_LENGTH' },
    ]);
  });

  it('counts a missing token as such in the metrics', async () => {
    await call(gateway, '/api/alarms', { token: null });
    expect(await gateway.metricsText()).toMatch(/gateway_http_auth_failures_total\{reason="missing_token"\} [1-9]/);
  });

  it('answers liveness, readiness with its checks, and metrics for a viewer (api.metricsPublic off)', async () => {
    expect((await call(gateway, '/healthz', { token: null })).body).toEqual({ status: 'ok' });
    const ready = await call(gateway, '/readyz', { token: null });
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
    expect(ready.body.reasons).toEqual([]);
    expect(ready.body.degraded).toEqual([]);
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(['mqtt', 'influxdb', 'webhooks']);
    expect((await call(gateway, '/metrics', { token: null })).status).toBe(401);
    const metrics = await call(gateway, '/metrics', { token: ROLE_TOKENS.viewer });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^# HELP /m);
  });

  it('reloads the rules for an admin, recorded in the audit log', async () => {
    const reloaded = await call(gateway, '/api/rules/reload', { body: {} });
    expect(reloaded.status).toBe(200);
    expect(reloaded.body.reloaded).toBe(true);
    expect(reloaded.body.files.length).toBeGreaterThan(0);
    expect(reloaded.body.changedAlarms).toBe(0);
    const entry = await lastAudit(gateway, 'rules.reload');
    expect(entry).toMatchObject({ actor: 'shared-admin', outcome: 'ok', detail: { files: reloaded.body.files, changedAlarms: 0 } });
    // curl -X POST -H 'content-type: application/json' with no body: no body, as without the header
    const empty = await call(gateway, '/api/rules/reload', { body: '' });
    expect([empty.status, empty.body.reloaded]).toEqual([200, true]);
    expect((await call(gateway, '/api/rules/reload', { body: ' ' })).body.error.code).toBe('validation_failed');
  });

  it('shows the single node’s cluster view', async () => {
    const view = await call(gateway, '/api/cluster', { token: ROLE_TOKENS.viewer });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ mode: 'single', members: [], trouble: null });
    expect(view.body.owners).toEqual({ 'site-a': 'single', 'site-b': 'single' });
  });

  it('serves its OpenAPI document: each operation with the role it needs and how to present a token', async () => {
    const doc = (await call(gateway, '/openapi.json', { token: null })).body;
    expect(doc.openapi).toBe('3.1.0');
    const list = doc.paths['/api/alarms'].get;
    expect(list.description).toBe('Needs the viewer role.');
    expect(list.security).toEqual([{ bearer: [] }, { session: [] }]);
    const stream = doc.paths['/api/alarms/stream'].get;
    expect(stream.security).toEqual([{ bearer: [] }, { session: [] }, { accessToken: [] }]);
    const shelve = doc.paths['/api/alarms/{id}/shelve'].post;
    expect(shelve.description).toMatch(/^Needs the operator role\. While shelved/);
    const health = doc.paths['/healthz'].get;
    expect(health.security).toEqual([]);
    expect(health.description).toBe('Public: no token needed.');
    expect(doc.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'gw_session' });
    expect(doc.components.schemas.ApiError).toBeDefined();
    const page = await call(gateway, '/docs/static/index.html?x=1', { token: null });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/docs/');
    const docs = await call(gateway, '/docs/', { token: null });
    expect(docs.status).toBe(200);
    expect(String(docs.headers['content-security-policy'])).toContain("script-src 'self'");
  }, 30_000);
});

// Gateways of their own are started in hooks, not in tests: what runs at start-up (route registration) is then
// not attributed to a test, and its mutants are not run against every test (Stryker's static mutants, ignored).
describe('a gateway that allows two failed authentications a minute', () => {
  let limited: RunningGateway;
  beforeAll(async () => {
    limited = await startHttpGateway({ authFailures: { max: 2, window: 60_000 } });
  }, 60_000);
  afterAll(() => limited.close());

  it('throttles an address that presents unknown tokens, whatever it presents then', async () => {
    for (let i = 0; i < 2; i++) expect((await call(limited, '/api/alarms', { token: `wrong-token-number-${i}` })).status).toBe(401);
    // two failures allowed, then nothing is checked: a good token is refused too (not a third guess)
    const good = await call(limited, '/api/alarms', { token: ROLE_TOKENS.viewer });
    expect(good.status).toBe(429);
    expect(good.body.error.code).toBe('rate_limited');
    expect(good.body.error.message).toBe('too many failed authentications from this address; try again later');
    expect(Number(good.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(good.headers['retry-after'])).toBeLessThanOrEqual(60);
    const third = await call(limited, '/api/alarms', { token: 'wrong-token-number-3' });
    expect(third.status).toBe(429);
    // a route that needs no token stays open
    expect((await call(limited, '/healthz', { token: null })).status).toBe(200);
    const metrics = await limited.metricsText();
    expect(metrics).toMatch(/gateway_http_auth_failures_total\{reason="rate_limited"\} 2/);
    expect(metrics).toMatch(/gateway_http_auth_failures_total\{reason="bad_token"\} 2/);
  });
});

describe('a gateway whose broker is closed', () => {
  let closing: RunningGateway;
  beforeAll(async () => {
    closing = await startHttpGateway();
  }, 60_000);
  afterAll(() => closing.close());

  it('is not ready once its broker is closed, saying why', async () => {
    await new Promise<void>((resolve) => closing.broker.close(() => resolve()));
    const ready = await call(closing, '/readyz', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(ready.body.reasons).toEqual(['mqtt: broker closed']);
    expect(ready.body.degraded).toEqual([]);
    expect((await call(closing, '/metrics', { token: null })).status).toBe(200);
  });
});
