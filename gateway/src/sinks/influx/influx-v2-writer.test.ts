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

  it('gzips a batch larger than 1000 bytes, and the server reads back every line', async () => {
    const server = await recordingInflux(() => ({ status: 204 }));
    const lines = Array.from({ length: 50 }, (_, i) => LINE.replace('=38', `=${i}`));
    await createInfluxV2Writer({ url: server.url, ...options }).write(lines);
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
