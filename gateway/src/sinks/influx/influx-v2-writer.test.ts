import { afterEach, describe, expect, it } from 'vitest';
import { closeRecordingInfluxes, type ReceivedRequest, recordingInflux } from '../../../../test/support/recording-influx.js';
import { GatewayError } from '../../errors.js';
import { createInfluxV2Writer } from './influx-v2-writer.js';

afterEach(closeRecordingInfluxes);

const options = { org: 'acme', bucket: 'risk', token: 'secret-token', timeoutMs: 2_000 };
const LINE = 'telemetry,device=dc-01,profile=dust-collector,site=site-a hopper_temp=38 1796221112000';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayError);
  return (error as GatewayError).code;
}

describe('InfluxDB 2.x writer', () => {
  it('posts the lines to /api/v2/write with org, bucket, ms precision and the token', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const writer = createInfluxV2Writer({ url: `${server.url}/`, ...options });
    await writer.write([LINE, LINE.replace('=38', '=39')]);
    expect(server.received).toHaveLength(1);
    const [request] = server.received as [ReceivedRequest];
    expect(request.method).toBe('POST');
    const url = new URL(request.url, server.url);
    expect(url.pathname).toBe('/api/v2/write');
    expect(Object.fromEntries(url.searchParams)).toEqual({ org: 'acme', bucket: 'risk', precision: 'ms' });
    expect(request.headers.authorization).toBe('Token secret-token');
    expect(request.headers['content-encoding']).toBeUndefined();
    expect(request.body).toBe(`${LINE}\n${LINE.replace('=38', '=39')}`);
    expect(writer.target).toBe(`${server.url} org=acme bucket=risk`);
  });

  it('gzips a batch larger than 1000 bytes, and the server reads back every line (spool rows sent as bytes too)', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const lines = Array.from({ length: 50 }, (_, i) => LINE.replace('=38', `=${i}`).replace('site-a', '厂区-甲'));
    await createInfluxV2Writer({ url: server.url, ...options }).write([Buffer.from(lines.slice(0, 40).join('\n')), ...lines.slice(40)]);
    const [request] = server.received as [ReceivedRequest];
    expect(request.headers['content-encoding']).toBe('gzip');
    expect(request.bytes).toBeLessThan(lines.join('\n').length / 4);
    expect(request.body.split('\n')).toEqual(lines);
  });

  it('sends nothing for an empty batch', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    await createInfluxV2Writer({ url: server.url, ...options }).write([]);
    expect(server.received).toEqual([]);
  });

  it('maps answers as the 1.x writer does: refusals of the points (400, 413, 422) are influx_rejected, everything else is retried', async () => {
    for (const [status, code] of [
      [500, 'influx_unavailable'],
      [503, 'influx_unavailable'],
      [429, 'influx_unavailable'],
      [400, 'influx_rejected'],
      [413, 'influx_rejected'],
      [422, 'influx_rejected'],
      // a wrong token or a missing bucket is the setup's fault, not the data's: kept and retried
      [401, 'influx_unavailable'],
      [403, 'influx_unavailable'],
      [404, 'influx_unavailable'],
    ] as const) {
      const server = await recordingInflux(() => ({ status, body: '{"code":"invalid","message":"partial write: field type conflict"}' }));
      const writer = createInfluxV2Writer({ url: server.url, ...options });
      const error = await writer.write([LINE]).catch((e: unknown) => e);
      expect(error, `HTTP ${status}`).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code, `HTTP ${status}`).toBe(code);
      expect((error as GatewayError).message).toContain(`HTTP ${status}`);
      expect((error as GatewayError).message).toContain('field type conflict');
    }
  });

  it('an unreachable server or one that does not answer in time is influx_unavailable (retried, never dropped)', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const closed = server.url;
    await new Promise((resolve) => server.server.close(resolve));
    expect(await codeOf(createInfluxV2Writer({ url: closed, ...options }).write([LINE]))).toBe('influx_unavailable');

    const slow = await recordingInflux(() => ({ status: 204, delayMs: 1_000 }));
    expect(await codeOf(createInfluxV2Writer({ url: slow.url, ...options, timeoutMs: 100 }).write([LINE]))).toBe('influx_unavailable');
  });

  it('prepare and ping ask /ping: resolved and true when it answers, influx_unavailable and false when it does not', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const writer = createInfluxV2Writer({ url: server.url, ...options });
    await writer.prepare();
    expect(await writer.ping()).toBe(true);
    expect(server.received.map((r) => [r.method, r.url])).toEqual([
      ['GET', '/ping'],
      ['GET', '/ping'],
    ]);

    const down = createInfluxV2Writer({ url: server.url, ...options });
    await new Promise((resolve) => server.server.close(resolve));
    expect(await down.ping()).toBe(false);
    expect(await codeOf(down.prepare())).toBe('influx_unavailable');
  });
});

describe('InfluxDB 2.x writer: what an operator reads and what the server is sent', () => {
  it('a refused write says so with the status and the start of the answer (500 characters), the status and cause kept', async () => {
    const body = JSON.stringify({ code: 'invalid', message: `partial write: ${'x'.repeat(600)}` });
    const server = await recordingInflux(() => ({ status: 400, body }));
    const error = (await createInfluxV2Writer({ url: server.url, ...options })
      .write([LINE])
      .catch((e: unknown) => e)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe('influx_rejected');
    expect(error.message).toBe(`InfluxDB write failed with HTTP 400: ${body.slice(0, 500)}`);
    expect(error.details).toEqual({ status: 400 });
    expect((error.cause as { statusCode?: number }).statusCode).toBe(400);
  });

  it('a ping that fails with an HTTP answer says ping, not write', async () => {
    const server = await recordingInflux(() => ({ status: 503, body: '{"message":"starting"}' }));
    const error = (await createInfluxV2Writer({ url: server.url, ...options })
      .prepare()
      .catch((e: unknown) => e)) as GatewayError;
    expect(error.message).toBe('InfluxDB ping failed with HTTP 503: {"message":"starting"}');
    expect(error.code).toBe('influx_unavailable');
  });

  it('an unreachable server is named with its URL and why, the cause kept', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    await new Promise((resolve) => server.server.close(resolve));
    const error = (await createInfluxV2Writer({ url: `${server.url}/`, ...options })
      .write([LINE])
      .catch((e: unknown) => e)) as GatewayError;
    expect(error.code).toBe('influx_unavailable');
    expect(error.message).toMatch(new RegExp(`^InfluxDB at ${server.url} unreachable: \\S`));
    expect(error.message).toContain((error.cause as Error).message);
  });

  it('sends the lines as UTF-8 text', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    await createInfluxV2Writer({ url: server.url, ...options }).write([LINE]);
    expect(server.received[0]?.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('ignores every trailing slash of the URL', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const writer = createInfluxV2Writer({ url: `${server.url}//`, ...options });
    expect(writer.target).toBe(`${server.url} org=acme bucket=risk`);
    await writer.write([LINE]);
    await writer.prepare();
    expect(server.received.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/api/v2/write', LINE],
      ['GET', '/ping', ''],
    ]);
  });

  it('the readiness ping gives up after 2 s even when writes may take longer', async () => {
    const server = await recordingInflux(() => ({ status: 204, delayMs: 2_400 }));
    const writer = createInfluxV2Writer({ url: server.url, ...options, timeoutMs: 10_000 });
    const started = Date.now();
    expect(await writer.ping()).toBe(false);
    expect(Date.now() - started).toBeLessThan(2_300);
  });
});
