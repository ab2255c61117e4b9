import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeRecordingInfluxes,
  type InfluxAnswer,
  type RecordingInflux,
  recordingInflux,
} from '../../../../test/support/recording-influx.js';
import { GatewayError } from '../../errors.js';
import { createInfluxV1Writer } from './influx-writer.js';

afterEach(closeRecordingInfluxes);

const LINE = 'telemetry,device=dc-01,profile=dust-collector,site=site-a hopper_temp=38 1796221112000';
const failureOf = async (promise: Promise<unknown>): Promise<GatewayError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
};
/** What a 1.x writer's requests said: method, path, query parameters and body. */
const requests = (server: RecordingInflux) => server.received.map(({ method, path, params, body }) => ({ method, path, params, body }));
/** InfluxQL's answers: 200 with results, an error in a statement's result or at the top. */
const ok = (): InfluxAnswer => ({ status: 200, body: '{"results":[{"statement_id":0}]}' });
const statementError = (error: string): InfluxAnswer => ({ status: 200, body: JSON.stringify({ results: [{ statement_id: 0, error }] }) });

describe('InfluxDB 1.x writer', () => {
  it('posts the lines to /write with the database, ms precision and the credentials', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const writer = createInfluxV1Writer({ url: `${server.url}//`, database: 'risk', username: 'gw', password: 'pw', timeoutMs: 2_000 });
    await writer.write([LINE, LINE.replace('=38', '=39')]);
    expect(requests(server)).toEqual([
      {
        method: 'POST',
        path: '/write',
        params: { db: 'risk', precision: 'ms', u: 'gw', p: 'pw' },
        body: `${LINE}\n${LINE.replace('=38', '=39')}`,
      },
    ]);
    expect(writer.target).toBe(`${server.url} db=risk`);
  });

  it('sends spool rows as their bytes beside lines as text: one body, a newline between pieces, UTF-8 intact', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const writer = createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 });
    const row = `${LINE}\n${LINE.replace('site-a', '厂区-甲')}`;
    await writer.write([Buffer.from(row), LINE.replace('=38', '=40'), Buffer.from('alarm,site=厂区-甲 message="高温" 1796221112000')]);
    expect(requests(server).map((r) => r.body)).toEqual([
      `${row}\n${LINE.replace('=38', '=40')}\nalarm,site=厂区-甲 message="高温" 1796221112000`,
    ]);
  });

  it('without a user sends no credentials; a user without a password sends an empty one', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    await createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 }).write([LINE]);
    await createInfluxV1Writer({ url: server.url, database: 'risk', username: 'gw', timeoutMs: 2_000 }).write([LINE]);
    expect(server.received.map((r) => r.params)).toEqual([
      { db: 'risk', precision: 'ms' },
      { db: 'risk', precision: 'ms', u: 'gw', p: '' },
    ]);
  });

  it('sends nothing for an empty batch; 200 is taken as written as well as 204', async () => {
    const server = await recordingInflux(() => ({ status: 200 }));
    const writer = createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 });
    await writer.write([]);
    expect(requests(server)).toEqual([]);
    await writer.write([LINE]);
    expect(server.received).toHaveLength(1);
  });

  it('refusals of the points (400, 413, 422) are influx_rejected, every other failure influx_unavailable; each says the status and InfluxDB’s words', async () => {
    for (const [status, code] of [
      [400, 'influx_rejected'],
      [413, 'influx_rejected'],
      [422, 'influx_rejected'],
      [401, 'influx_unavailable'],
      [404, 'influx_unavailable'],
      [429, 'influx_unavailable'],
      [500, 'influx_unavailable'],
      [503, 'influx_unavailable'],
    ] as const) {
      const server = await recordingInflux(() => ({ status, body: '{"error":"partial write: field type conflict"}' }));
      const error = await failureOf(createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 }).write([LINE]));
      expect(error.code, `HTTP ${status}`).toBe(code);
      expect(error.message).toBe(`InfluxDB write failed with HTTP ${status}: {"error":"partial write: field type conflict"}`);
      expect(error.details).toEqual({ status });
    }
  });

  it('keeps at most 500 characters of an error body', async () => {
    const server = await recordingInflux(() => ({ status: 400, body: `${'x'.repeat(500)}TAIL` }));
    const error = await failureOf(createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 }).write([LINE]));
    expect(error.message).toBe(`InfluxDB write failed with HTTP 400: ${'x'.repeat(500)}`);
  });

  it('a redirect is not followed: the failure names where it points, for influx.url to be mended', async () => {
    const server = createServer((_request, response) =>
      response.writeHead(308, { location: 'https://influx.plant.example:8086/write' }).end(),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const writer = createInfluxV1Writer({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        database: 'risk',
        timeoutMs: 2_000,
      });
      const failure = await failureOf(writer.write([LINE]));
      expect(failure.code).toBe('influx_unavailable');
      expect(failure.message).toBe(
        'InfluxDB write failed with HTTP 308: redirected to https://influx.plant.example:8086/write: set influx.url to where InfluxDB answers',
      );
    } finally {
      server.close();
    }
  });

  it('an unreachable server or one that does not answer in time is influx_unavailable, naming the server', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    await new Promise((resolve) => server.server.close(resolve));
    const down = await failureOf(createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 }).write([LINE]));
    expect(down.code).toBe('influx_unavailable');
    expect(down.message).toMatch(new RegExp(`^InfluxDB at ${server.url} unreachable: `));
    expect(down.cause).toBeInstanceOf(Error);

    const slow = await recordingInflux(() => ({ status: 204, delayMs: 1_000 }));
    const late = await failureOf(createInfluxV1Writer({ url: slow.url, database: 'risk', timeoutMs: 100 }).write([LINE]));
    expect(late.code).toBe('influx_unavailable');
  });

  it('prepare creates the database (its name quoted) and nothing else without a retention', async () => {
    const server = await recordingInflux(ok);
    await createInfluxV1Writer({ url: server.url, database: 'risk "a"', username: 'gw', password: 'pw', timeoutMs: 2_000 }).prepare();
    await createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000, retentionMs: null }).prepare();
    expect(requests(server)).toEqual([
      { method: 'POST', path: '/query', params: { q: 'CREATE DATABASE "risk \\"a\\""', u: 'gw', p: 'pw' }, body: '' },
      { method: 'POST', path: '/query', params: { q: 'CREATE DATABASE "risk"' }, body: '' },
    ]);
  });

  it('a database that cannot be created fails prepare with the status', async () => {
    for (const [status, code] of [
      [401, 'influx_unavailable'],
      [400, 'influx_rejected'],
    ] as const) {
      const server = await recordingInflux(() => ({ status, body: '{"error":"authorization failed"}' }));
      const error = await failureOf(createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 }).prepare());
      expect(error.code).toBe(code);
      expect(error.message).toBe(`InfluxDB CREATE DATABASE failed with HTTP ${status}: {"error":"authorization failed"}`);
    }
  });

  it('with a retention, creates the policy "gateway" as the default, in whole seconds', async () => {
    const server = await recordingInflux(ok);
    await createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000, retentionMs: 7_200_400 }).prepare();
    expect(server.received.map((r) => r.params.q)).toEqual([
      'CREATE DATABASE "risk"',
      'CREATE RETENTION POLICY "gateway" ON "risk" DURATION 7200s REPLICATION 1 DEFAULT',
    ]);
  });

  it('an existing policy is altered to the configured duration', async () => {
    const server = await recordingInflux((r) =>
      r.params.q?.startsWith('CREATE RETENTION') ? statementError('retention policy already exists') : ok(),
    );
    await createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000, retentionMs: 3_600_000 }).prepare();
    expect(server.received.map((r) => r.params.q)).toEqual([
      'CREATE DATABASE "risk"',
      'CREATE RETENTION POLICY "gateway" ON "risk" DURATION 3600s REPLICATION 1 DEFAULT',
      'ALTER RETENTION POLICY "gateway" ON "risk" DURATION 3600s REPLICATION 1 DEFAULT',
    ]);
  });

  it('an error InfluxQL answers with 200 fails prepare as influx_rejected, whether in the result or at the top', async () => {
    const cases: Array<[(q: string) => InfluxAnswer, string]> = [
      [
        (q) => (q.startsWith('CREATE RETENTION') ? statementError('retention policy duration must be at least 1h0m0s') : ok()),
        'retention policy duration must be at least 1h0m0s',
      ],
      [(q) => (q.startsWith('CREATE RETENTION') ? { status: 200, body: '{"error":"error parsing query"}' } : ok()), 'error parsing query'],
      [
        (q) =>
          q.startsWith('CREATE RETENTION')
            ? statementError('policy already exists')
            : q.startsWith('ALTER')
              ? statementError('not allowed')
              : ok(),
        'not allowed',
      ],
    ];
    for (const [answer, problem] of cases) {
      const server = await recordingInflux((r) => answer(r.params.q ?? ''));
      const error = await failureOf(
        createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000, retentionMs: 3_600_000 }).prepare(),
      );
      expect(error.code).toBe('influx_rejected');
      expect(error.message).toBe(`InfluxDB retention policy failed: ${problem}`);
    }
  });

  it('a retention statement answered with an HTTP failure fails prepare, naming the statement; a body that is no JSON is no error', async () => {
    const server = await recordingInflux((r) => (r.params.q?.startsWith('CREATE RETENTION') ? { status: 503, body: 'busy' } : ok()));
    const error = await failureOf(
      createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000, retentionMs: 3_600_000 }).prepare(),
    );
    expect(error.code).toBe('influx_unavailable');
    expect(error.message).toBe('InfluxDB CREATE RETENTION POLICY failed with HTTP 503: busy');

    const plain = await recordingInflux(() => ({ status: 200, body: 'not json' }));
    await createInfluxV1Writer({ url: plain.url, database: 'risk', timeoutMs: 2_000, retentionMs: 3_600_000 }).prepare();
    expect(plain.received).toHaveLength(2);
  });

  it('ping is true when /ping answers 204 or 200, false on any other answer, none, or none in time', async () => {
    let status = 204;
    let delayMs = 0;
    const server = await recordingInflux(() => ({ status, delayMs }));
    const writer = createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 2_000 });
    expect(await writer.ping()).toBe(true);
    status = 200;
    expect(await writer.ping()).toBe(true);
    status = 500;
    expect(await writer.ping()).toBe(false);
    expect(server.received.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/ping'],
      ['GET', '/ping'],
      ['GET', '/ping'],
    ]);
    status = 204;
    delayMs = 400;
    expect(await createInfluxV1Writer({ url: server.url, database: 'risk', timeoutMs: 100 }).ping()).toBe(false);
    await new Promise((resolve) => server.server.close(resolve));
    server.server.closeAllConnections();
    expect(await writer.ping()).toBe(false);
  });
});
