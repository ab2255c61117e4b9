import { afterEach, describe, expect, it } from 'vitest';
import { closeRecordingInfluxes, type ReceivedRequest, recordingInflux } from '../../../../test/support/recording-influx.js';
import type { GatewayConfig } from '../../config/config-schema.js';
import { GatewayError } from '../../errors.js';
import { createTrendReader } from './trend-reader.js';

afterEach(closeRecordingInfluxes);

const V1: GatewayConfig['influx'] = {
  mode: 'url',
  version: 1,
  url: 'http://127.0.0.1:8086',
  database: 'risk',
  batchSize: 5_000,
  flushInterval: 500,
  maxQueuedPoints: 200_000,
  maxInFlight: 2,
  retention: 'inf',
  requestTimeout: 2_000,
};
const V2: GatewayConfig['influx'] = { ...V1, version: 2, org: 'acme', bucket: 'risk-b', token: 'tok' };
const FROM = Date.parse('2026-11-22T08:00:00.000Z');
const TO = Date.parse('2026-11-22T09:00:00.000Z');
const QUERY = { device: 'dc-01', metric: 'hopper_temp', from: FROM, to: TO, limit: 3 };

const series = (values: unknown[][]) =>
  JSON.stringify({ results: [{ statement_id: 0, series: [{ name: 'telemetry', columns: ['time', 'hopper_temp'], values }] }] });

const failureOf = async (promise: Promise<unknown>): Promise<GatewayError> => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).code).toBe('trend_failed');
  return error as GatewayError;
};

describe('trend reader, InfluxDB 1.x (InfluxQL)', () => {
  it('asks for the metric of the device over the range, newest first, one more than the limit, epoch ms, with credentials', async () => {
    const server = await recordingInflux(() => ({ status: 200, body: series([]) }));
    const reader = createTrendReader({ ...V1, username: 'gw', password: 'pw' }, `${server.url}/`);
    expect(await reader.read({ ...QUERY, device: "it's \\ dc" })).toEqual({ points: [], truncated: false });
    expect(server.received).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: '/query',
        params: {
          db: 'risk',
          epoch: 'ms',
          q: `SELECT "hopper_temp" FROM "telemetry" WHERE "device" = 'it\\'s \\\\ dc' AND time >= ${FROM}ms AND time <= ${TO}ms ORDER BY time DESC LIMIT 4`,
          u: 'gw',
          p: 'pw',
        },
      }),
    ]);
    await createTrendReader({ ...V1, username: 'gw' }, server.url).read(QUERY);
    await createTrendReader(V1, server.url).read(QUERY);
    expect(server.received.slice(1).map((r) => [r.params.u, r.params.p])).toEqual([
      ['gw', ''],
      [undefined, undefined],
    ]);
  });

  it('gives the points oldest first, numbers, texts and booleans; the newest `limit` kept and truncated said when there were more', async () => {
    const values = [
      [FROM + 3, true],
      [FROM + 2, 'jammed'],
      [FROM + 1, 38.5],
      [FROM, 38],
    ];
    const server = await recordingInflux(() => ({ status: 200, body: series(values) }));
    expect(await createTrendReader(V1, server.url).read(QUERY)).toEqual({
      points: [
        { t: FROM + 1, v: 38.5 },
        { t: FROM + 2, v: 'jammed' },
        { t: FROM + 3, v: true },
      ],
      truncated: true,
    });
    expect(await createTrendReader(V1, server.url).read({ ...QUERY, limit: 4 })).toMatchObject({ truncated: false });
  });

  it('leaves out rows without a time or a value of a stored kind', async () => {
    const server = await recordingInflux(() => ({
      status: 200,
      body: series([
        [FROM, null],
        ['2026-11-22T08:00:00Z', 1],
        [FROM + 1, { x: 1 }],
        [FROM + 2, false],
      ]),
    }));
    expect(await createTrendReader(V1, server.url).read(QUERY)).toEqual({ points: [{ t: FROM + 2, v: false }], truncated: false });
  });

  it('a database not written yet is an empty trend; any other InfluxQL error fails, in the result or at the top', async () => {
    const missing = await recordingInflux(() => ({
      status: 200,
      body: '{"results":[{"statement_id":0,"error":"database not found: risk"}]}',
    }));
    expect(await createTrendReader(V1, missing.url).read(QUERY)).toEqual({ points: [], truncated: false });
    const empty = await recordingInflux(() => ({ status: 200, body: '{"results":[{"statement_id":0}]}' }));
    expect(await createTrendReader(V1, empty.url).read(QUERY)).toEqual({ points: [], truncated: false });
    const noResults = await recordingInflux(() => ({ status: 200, body: '{}' }));
    expect(await createTrendReader(V1, noResults.url).read(QUERY)).toEqual({ points: [], truncated: false });

    const bad = await recordingInflux(() => ({ status: 200, body: '{"results":[{"statement_id":0,"error":"field type conflict"}]}' }));
    expect((await failureOf(createTrendReader(V1, bad.url).read(QUERY))).message).toBe('InfluxDB query failed: field type conflict');
    const top = await recordingInflux(() => ({ status: 200, body: '{"error":"error parsing query"}' }));
    expect((await failureOf(createTrendReader(V1, top.url).read(QUERY))).message).toBe('InfluxDB query failed: error parsing query');
  });

  it('an HTTP failure says its status and at most 300 characters of the body', async () => {
    const server = await recordingInflux(() => ({ status: 401, body: `${'x'.repeat(300)}TAIL` }));
    expect((await failureOf(createTrendReader(V1, server.url).read(QUERY))).message).toBe(
      `InfluxDB query failed with HTTP 401: ${'x'.repeat(300)}`,
    );
  });

  it('an unreachable server or one that does not answer in time fails, naming the server', async () => {
    const server = await recordingInflux(() => ({ status: 200, body: series([]) }));
    await new Promise((resolve) => server.server.close(resolve));
    const down = await failureOf(createTrendReader(V1, `${server.url}/`).read(QUERY));
    expect(down.message).toMatch(new RegExp(`^InfluxDB at ${server.url} unreachable: `));
    expect(down.cause).toBeInstanceOf(Error);

    const slow = await recordingInflux(() => ({ status: 200, body: series([]), delayMs: 1_000 }));
    await failureOf(createTrendReader({ ...V1, requestTimeout: 100 }, slow.url).read(QUERY));
  });
});

/** Flux's annotated CSV as InfluxDB 2.x answers it (CRLF line ends, one table per group, a blank line between). */
const csv = (...tables: string[][]): string =>
  tables
    .map((rows) =>
      ['#datatype,string,long,dateTime:RFC3339,double', '#group,false,false,false,false', '#default,_result,,,', ...rows].join('\r\n'),
    )
    .join('\r\n\r\n');

describe('trend reader, InfluxDB 2.x (Flux)', () => {
  it('posts a Flux query for the metric of the device over the range (the end included) with the org and token', async () => {
    const server = await recordingInflux(() => ({ status: 200, body: '' }));
    expect(await createTrendReader(V2, `${server.url}/`).read({ ...QUERY, device: 'dc "1"' })).toEqual({ points: [], truncated: false });
    const [request] = server.received as [ReceivedRequest];
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/api/v2/query');
    expect(request.params).toEqual({ org: 'acme' });
    expect(request.headers.authorization).toBe('Token tok');
    expect(request.headers['content-type']).toBe('application/vnd.flux');
    expect(request.headers.accept).toBe('application/csv');
    expect(request.body).toBe(
      'from(bucket: "risk-b") |> range(start: 2026-11-22T08:00:00.000Z, stop: 2026-11-22T09:00:00.001Z) ' +
        '|> filter(fn: (r) => r._measurement == "telemetry" and r.device == "dc \\"1\\"" and r._field == "hopper_temp") ' +
        '|> keep(columns: ["_time", "_value"]) |> tail(n: 4)',
    );
  });

  it('reads _time and _value of every table: numbers, booleans and texts, oldest first, the newest `limit` kept', async () => {
    const body = csv(
      [',result,table,_time,_value', ',,0,2026-11-22T08:00:02.000Z,true', ',,0,2026-11-22T08:00:03.000Z,jammed'],
      [
        ',result,table,_value,_time',
        ',,1,38.5,2026-11-22T08:00:01.000Z',
        ',,1,-2,2026-11-22T08:00:00.000Z',
        ',,1,false,2026-11-22T08:00:04.000Z',
      ],
    );
    const server = await recordingInflux(() => ({ status: 200, body: `${body}\r\n` }));
    expect(await createTrendReader(V2, server.url).read({ ...QUERY, limit: 4 })).toEqual({
      points: [
        { t: FROM + 1_000, v: 38.5 },
        { t: FROM + 2_000, v: true },
        { t: FROM + 3_000, v: 'jammed' },
        { t: FROM + 4_000, v: false },
      ],
      truncated: true,
    });
  });

  it('an empty value stays text, a row without a time is left out', async () => {
    const body = csv([',result,table,_time,_value', ',,0,2026-11-22T08:00:01.000Z,', ',,0,,5', ',,0,2026-11-22T08:00:02.000Z,Infinity']);
    const server = await recordingInflux(() => ({ status: 200, body }));
    expect(await createTrendReader(V2, server.url).read(QUERY)).toEqual({
      points: [
        { t: FROM + 1_000, v: '' },
        { t: FROM + 2_000, v: 'Infinity' },
      ],
      truncated: false,
    });
  });

  it('reads a CSV without annotations (the default dialect), LF line ends, tables with their own headers', async () => {
    const body = [
      ',result,table,_time,_value',
      ',,0,2026-11-22T08:00:01.000Z,1',
      '',
      ',result,table,_value,_time',
      ',,1,2,2026-11-22T08:00:02.000Z',
      '',
    ].join('\n');
    const server = await recordingInflux(() => ({ status: 200, body }));
    expect(await createTrendReader(V2, `${server.url}//`).read({ ...QUERY, limit: 10 })).toEqual({
      points: [
        { t: FROM + 1_000, v: 1 },
        { t: FROM + 2_000, v: 2 },
      ],
      truncated: false,
    });
  });

  it('a failed query says its status and what InfluxDB said', async () => {
    const server = await recordingInflux(() => ({ status: 404, body: '{"code":"not found","message":"bucket \\"risk-b\\" not found"}' }));
    expect((await failureOf(createTrendReader(V2, server.url).read(QUERY))).message).toBe(
      'InfluxDB query failed with HTTP 404: {"code":"not found","message":"bucket \\"risk-b\\" not found"}',
    );
  });
});
