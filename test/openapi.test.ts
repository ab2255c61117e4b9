import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCS_PREFIX } from '../gateway/src/http/route-access.js';
import { BROWSER_WAIT, launchChromium } from './console/chromium.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

type Json = any;

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'] as const;
/** `/api/alarms/:id` as the document writes it: `/api/alarms/{id}`. */
const openapiPath = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}');
/** A JSON pointer into the document (for messages). */
const pointer = (...parts: string[]): string => `/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** JSON Schema 2020-12 (what OpenAPI 3.1 schema objects are), refs resolved against the document's components. */
function schemaValidator(document: Json) {
  // strict: false — OpenAPI adds keywords of its own (`example`, `discriminator`) that are not JSON Schema's.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  return (schema: Json, value: unknown): string | null => {
    const validate = ajv.compile({ ...schema, components: document.components });
    return validate(value) ? null : ajv.errorsText(validate.errors);
  };
}

interface Example {
  where: string;
  schema: Json;
  value: unknown;
}

/** The examples of one schema object and of every schema nested in it (OpenAPI 3.1: `examples` arrays; `example`). */
function schemaExamples(schema: Json, where: string, into: Example[]): void {
  if (schema === null || typeof schema !== 'object') return;
  if (Array.isArray(schema.examples))
    for (const [i, value] of schema.examples.entries()) into.push({ where: `${where}/examples/${i}`, schema, value });
  if (schema.example !== undefined) into.push({ where: `${where}/example`, schema, value: schema.example });
  for (const [key, value] of Object.entries(schema.properties ?? {})) schemaExamples(value, `${where}/properties/${key}`, into);
  for (const key of ['items', 'additionalProperties', 'not'] as const) schemaExamples(schema[key], `${where}/${key}`, into);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'] as const)
    for (const [i, nested] of (schema[key] ?? []).entries()) schemaExamples(nested, `${where}/${key}/${i}`, into);
}

/** The examples of a parameter or media object (`example`, `examples: { name: { value } }`) and of its schema. */
function holderExamples(holder: Json, where: string, into: Example[]): void {
  if (holder.example !== undefined) into.push({ where: `${where}/example`, schema: holder.schema, value: holder.example });
  for (const [name, example] of Object.entries<Json>(holder.examples ?? {}))
    into.push({ where: `${where}/examples/${name}`, schema: holder.schema, value: example.value });
  schemaExamples(holder.schema, `${where}/schema`, into);
}

/** Every example anywhere in the document, with the schema it illustrates. */
function documentExamples(document: Json): Example[] {
  const found: Example[] = [];
  for (const [path, item] of Object.entries<Json>(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const at = pointer('paths', path, method);
      for (const [i, parameter] of (operation.parameters ?? []).entries()) holderExamples(parameter, `${at}/parameters/${i}`, found);
      for (const [type, media] of Object.entries<Json>(operation.requestBody?.content ?? {}))
        holderExamples(media, `${at}/requestBody/content/${type}`, found);
      for (const [status, response] of Object.entries<Json>(operation.responses ?? {}))
        for (const [type, media] of Object.entries<Json>(response.content ?? {}))
          holderExamples(media, `${at}/responses/${status}/content/${type}`, found);
    }
  }
  for (const [name, schema] of Object.entries<Json>(document.components?.schemas ?? {}))
    schemaExamples(schema, `/components/schemas/${name}`, found);
  return found;
}

describe('OpenAPI 3.1 document at GET /openapi.json, generated from the routes’ zod schemas', () => {
  let gateway: TestGateway;
  let document: Json;
  let valid: ReturnType<typeof schemaValidator>;

  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { influx: { mode: 'off' } } });
    const answer = await api(gateway, '/openapi.json', { token: null });
    expect(answer.status).toBe(200);
    document = answer.body;
    valid = schemaValidator(document);
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('is public, OpenAPI 3.1, and lists every route the server registered with each of its methods — and nothing else', () => {
    expect(document.openapi).toBe('3.1.0');
    // The server's own list: fastify's onRoute hook saw every route (HEAD twins included) as it was added.
    const registered = gateway.http.routes().map((r) => `${r.method} ${openapiPath(r.url)}`);
    // The docs page serves the document itself (its routes are the Swagger UI's files): checked below.
    const docsPage = registered.filter((r) => r.split(' ')[1]?.startsWith(DOCS_PREFIX));
    expect(docsPage).toContain(`GET ${DOCS_PREFIX}`);
    expect(docsPage).toContain(`GET ${DOCS_PREFIX}/json`);
    const served = registered.filter((r) => !docsPage.includes(r));

    const documented = Object.entries<Json>(document.paths).flatMap(([path, item]) =>
      METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(new Set(served).size).toBe(served.length);
    expect([...documented].sort()).toEqual([...served].sort());
    for (const route of ['GET /api/alarms', 'POST /api/alarms/{id}/ack', 'GET /api/alarms/stream', 'HEAD /healthz', 'GET /openapi.json'])
      expect(documented).toContain(route);
  });

  it('says for each operation the role the server enforces (bearer), or that it is public', () => {
    const wrong: string[] = [];
    for (const route of gateway.http.routes().filter((r) => !r.url.startsWith(DOCS_PREFIX))) {
      const operation = document.paths[openapiPath(route.url)][route.method.toLowerCase()];
      const expected =
        route.role === null
          ? { security: [], says: 'Public: no token needed.' }
          : {
              security:
                route.url === '/api/alarms/stream'
                  ? [{ bearer: [] }, { session: [] }, { accessToken: [] }]
                  : [{ bearer: [] }, { session: [] }],
              says: `Needs the ${route.role} role.`,
            };
      if (JSON.stringify(operation.security) !== JSON.stringify(expected.security) || !operation.description.startsWith(expected.says))
        wrong.push(`${route.method} ${route.url}: ${JSON.stringify(operation.security)} "${operation.description}"`);
    }
    expect(wrong).toEqual([]);
    expect(Object.keys(document.components.securitySchemes)).toEqual(['bearer', 'session', 'accessToken']);
    expect(document.components.securitySchemes.session).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'gw_session' });
  });

  it('has examples for request bodies, parameters and JSON answers, and every example validates against its own schema', () => {
    const examples = documentExamples(document);
    // Where examples must be: every request body, every query and path parameter, every 2xx JSON answer.
    const missing: string[] = [];
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      for (const method of METHODS.filter((m) => item[m] !== undefined && m !== 'head')) {
        const at = pointer('paths', path, method);
        const has = (prefix: string) => examples.some((e) => e.where.startsWith(prefix));
        (item[method].parameters ?? []).forEach((p: Json, i: number) => {
          if (!has(`${at}/parameters/${i}/`)) missing.push(`${at} parameter ${p.name}`);
        });
        if (item[method].requestBody && !has(`${at}/requestBody/`)) missing.push(`${at} request body`);
        for (const [status, response] of Object.entries<Json>(item[method].responses))
          if (status.startsWith('2') && response.content?.['application/json'] && !has(`${at}/responses/${status}/`))
            missing.push(`${at} ${status} answer`);
      }
    }
    expect(missing, 'places without an example').toEqual([]);

    const invalid = examples.map((e) => ({ where: e.where, error: valid(e.schema, e.value) })).filter((e) => e.error !== null);
    expect(invalid).toEqual([]);
    expect(examples.length).toBeGreaterThan(40);

    // The check can fail: a broken copy of an example is refused by the same schema.
    const alarmList = examples.find(
      (e) => e.where === `${pointer('paths', '/api/alarms', 'get')}/responses/200/content/application/json/example`,
    );
    expect(alarmList, 'the alarm list example').toBeDefined();
    const broken = structuredClone(alarmList!.value) as Json;
    broken.alarms[0].severity = 'purple';
    expect(valid(alarmList!.schema, broken)).toMatch(/severity/);
  });

  it('answers as it documents: real answers validate against the schema of their status, and every status is documented', async () => {
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hopper_temp: 85 } });
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { metrics: { hoper_temp: 38.5 } });
    await device.endAsync();
    await gateway.settle();
    const alarm = await eventually('an alarm raised', async () => (await api(gateway, '/api/alarms')).body.alarms[0]);

    const calls: Array<[string, string, Parameters<typeof api>[2]]> = [
      ['GET /healthz', '/healthz', { token: null }],
      ['GET /readyz', '/readyz', { token: null }],
      ['GET /api/alarms', '/api/alarms?state=all', {}],
      ['GET /api/alarms', '/api/alarms?state=bogus', {}],
      ['GET /api/alarms', '/api/alarms', { token: null }],
      ['GET /api/alarms/{id}', `/api/alarms/${alarm.id}`, {}],
      ['GET /api/alarms/{id}', '/api/alarms/alm_none', {}],
      ['POST /api/alarms/{id}/ack', `/api/alarms/${alarm.id}/ack`, { token: TOKENS.viewer, body: { by: 'viewer' } }],
      ['POST /api/alarms/{id}/ack', `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { note: 'no by' } }],
      ['POST /api/alarms/{id}/ack', `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { by: 'Wang Li' } }],
      ['POST /api/alarms/{id}/ack', `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { by: 'Wang Li' } }],
      ['POST /api/alarms/{id}/resolve', `/api/alarms/${alarm.id}/resolve`, { token: TOKENS.operator, body: { by: 'Wang Li' } }],
      ['GET /api/devices', '/api/devices', {}],
      ['GET /api/quarantine', '/api/quarantine', {}],
      ['GET /api/webhooks', '/api/webhooks', {}],
      ['GET /api/webhooks/dead-letters', '/api/webhooks/dead-letters', {}],
      ['POST /api/webhooks/dead-letters/{id}/replay', '/api/webhooks/dead-letters/dlq_none/replay', { method: 'POST' }],
      ['POST /api/webhooks/{id}/enable', '/api/webhooks/nobody/enable', { method: 'POST' }],
      ['POST /api/rules/reload', '/api/rules/reload', { method: 'POST' }],
      ['POST /api/users', '/api/users', { body: { name: '王丽', role: 'operator', password: 'duty-password-1' } }],
      ['POST /api/users', '/api/users', { body: { name: '王丽', role: 'operator', password: 'duty-password-1' } }],
      ['GET /api/users', '/api/users', {}],
      ['PATCH /api/users/{name}', `/api/users/${encodeURIComponent('王丽')}`, { method: 'PATCH', body: { role: 'dispatcher' } }],
      ['POST /auth/login', '/auth/login', { token: null, body: { name: '王丽', password: 'wrong-password-1' } }],
      ['POST /auth/login', '/auth/login', { token: null, body: { name: '王丽', password: 'duty-password-1' } }],
      ['GET /auth/session', '/auth/session', {}],
      ['GET /api/tokens', '/api/tokens', {}],
      ['POST /api/tokens', '/api/tokens', { body: { label: 'x' } }],
      ['DELETE /api/tokens/{id}', '/api/tokens/tok_none', { method: 'DELETE' }],
      ['GET /api/audit', '/api/audit?limit=5', {}],
      ['GET /api/audit', '/api/audit', { token: TOKENS.operator }],
      ['DELETE /api/users/{name}', `/api/users/${encodeURIComponent('王丽')}`, { method: 'DELETE' }],
    ];
    const statuses = new Set<string>();
    const problems: string[] = [];
    for (const [operation, path, init] of calls) {
      const [method, template] = operation.split(' ') as [string, string];
      const answer = await api(gateway, path, init);
      statuses.add(`${operation} ${answer.status}`);
      const response = document.paths[template]?.[method.toLowerCase()]?.responses?.[String(answer.status)];
      const schema = response?.content?.['application/json']?.schema;
      if (!schema) problems.push(`${operation} answered ${answer.status}, which the document does not describe`);
      else {
        const error = valid(schema, answer.body);
        if (error) problems.push(`${operation} ${answer.status}: ${error}`);
      }
    }
    expect(problems).toEqual([]);
    // The calls reached what they were meant to: success, validation, authentication, role, not found, conflict.
    for (const seen of [
      'GET /api/alarms 200',
      'GET /api/alarms 400',
      'GET /api/alarms 401',
      'GET /api/alarms/{id} 404',
      'POST /api/alarms/{id}/ack 403',
      'POST /api/alarms/{id}/ack 200',
      'POST /api/alarms/{id}/ack 409',
      'GET /api/quarantine 200',
      'POST /api/rules/reload 200',
      'POST /api/users 201',
      'POST /api/users 409',
      'POST /auth/login 401',
      'POST /auth/login 200',
      'GET /api/audit 200',
      'GET /api/audit 403',
      'DELETE /api/users/{name} 200',
    ])
      expect(statuses).toContain(seen);
    expect((await api(gateway, '/api/quarantine')).body.count).toBeGreaterThan(0);
  });

  it('answers a request that fails its schema with the API’s own error body: code, message, and each problem with its path', async () => {
    const query = await api(gateway, '/api/alarms?state=constructor&limit=0', { token: TOKENS.viewer });
    const state = 'Invalid option: expected one of "open"|"active"|"cleared"|"all"|"resolved"';
    expect(query).toEqual({
      status: 400,
      body: {
        error: {
          code: 'validation_failed',
          message: `state: ${state}; limit: Too small: expected number to be >=1`,
          details: [
            { path: 'state', message: state },
            { path: 'limit', message: 'Too small: expected number to be >=1' },
          ],
        },
      },
    });
    const body = await api(gateway, '/api/alarms/alm_x/resolve', { token: TOKENS.operator, body: { by: '   ', note: 5 } });
    expect(body).toEqual({
      status: 400,
      body: {
        error: {
          code: 'validation_failed',
          message: 'by: who acts is required; note: Invalid input: expected string, received number',
          details: [
            { path: 'by', message: 'who acts is required' },
            { path: 'note', message: 'Invalid input: expected string, received number' },
          ],
        },
      },
    });
    // A POST without a body names the missing field, as a body of {} would.
    const empty = await api(gateway, '/api/alarms/alm_x/ack', { token: TOKENS.operator, method: 'POST' });
    expect(empty.body.error.details).toEqual([{ path: 'by', message: 'Invalid input: expected string, received undefined' }]);
    // A JSON array is no object: the root is named.
    const array = await api(gateway, '/api/alarms/alm_x/ack', { token: TOKENS.operator, body: [1] });
    expect(array.body.error.details).toEqual([{ path: '(root)', message: 'Invalid input: expected object, received array' }]);
    // Authentication comes first: an anonymous bad request is 401, not 400.
    expect((await api(gateway, '/api/alarms?state=constructor', { token: null })).status).toBe(401);
  });

  describe('the docs page', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('serves Swagger UI without a token, under a strict CSP, showing the same document', async () => {
      expect((await api(gateway, `${DOCS_PREFIX}/json`, { token: null })).body).toEqual(document);
      const page = await browser.newPage();
      const violations: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') violations.push(message.text());
      });
      const response = await page.goto(`${gateway.httpUrl}${DOCS_PREFIX}`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      // Swagger UI rendered the operations of the document it fetched.
      await page
        .locator('.opblock-summary-path', { hasText: '/api/alarms/{id}/ack' })
        .first()
        .waitFor(BROWSER_WAIT)
        .catch((error: Error) => {
          // A page that never rendered says why, if the browser said anything.
          throw new Error(`${error.message}\nconsole errors: ${JSON.stringify(violations)}`);
        });
      const paths = await page.locator('.opblock-summary-path').allTextContents();
      expect(new Set(paths.map((p) => p.replace(/\u200b/g, '')))).toEqual(new Set(Object.keys(document.paths)));
      expect(violations).toEqual([]);
      await page.close();
    });
  });
});
