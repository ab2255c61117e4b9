import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordingLogger } from '../../../../test/helpers/recording-logger.js';
import type { GatewayConfig } from '../../config/config-schema.js';
import { GatewayError } from '../../errors.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { createInfluxWriter, resolveInfluxTarget, startInfluxSink } from './influx-target.js';
import { createMemoryPointQueue } from './point-queue.js';

/** A real HTTP server answering as InfluxDB does (1.x `/query` and `/write`, `/ping`); records what it was asked. */
async function fakeInflux(status = 204) {
  const received: Array<{ path: string; params: Record<string, string>; body: string }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '', 'http://influx');
      received.push({ path: url.pathname, params: Object.fromEntries(url.searchParams), body: Buffer.concat(chunks).toString() });
      if (url.pathname === '/query') response.writeHead(200).end('{"results":[{"statement_id":0}]}');
      else if (url.pathname === '/write' && status !== 204) response.writeHead(status).end('{"error":"partial write"}');
      else response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const V1: GatewayConfig['influx'] = {
  mode: 'url',
  version: 1,
  url: 'http://influx.example:8086',
  database: 'risk',
  batchSize: 2,
  flushInterval: 60_000,
  maxQueuedPoints: 200_000,
  maxInFlight: 1,
  retention: 'inf',
  requestTimeout: 2_000,
};
const V2: GatewayConfig['influx'] = { ...V1, version: 2, org: 'acme', bucket: 'risk-b', token: 'tok' };
const silent = createLogger('silent');
const configWith = (influx: Partial<GatewayConfig['influx']>): GatewayConfig =>
  ({ influx: { ...V1, ...influx }, dataDir: mkdtempSync(join(tmpdir(), 'influx-target-')) }) as GatewayConfig;

/** Runs `body` with PATH holding only `sh` and, when given, an `influxd` script. */
async function withPath<T>(influxd: string | null, body: () => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'influx-path-'));
  symlinkSync('/bin/sh', join(dir, 'sh'));
  if (influxd !== null) {
    writeFileSync(join(dir, 'influxd'), influxd);
    chmodSync(join(dir, 'influxd'), 0o755);
  }
  const before = process.env.PATH;
  process.env.PATH = dir;
  try {
    return await body();
  } finally {
    process.env.PATH = before;
  }
}

describe('where telemetry goes (influx.mode)', () => {
  it('off: nowhere, and says so; url: the configured server', async () => {
    expect(await resolveInfluxTarget(configWith({ mode: 'off' }), silent)).toEqual({
      url: null,
      disabledReason: 'influx.mode is off',
      local: null,
    });
    expect(await resolveInfluxTarget(configWith({ mode: 'url' }), silent)).toEqual({
      url: 'http://influx.example:8086',
      disabledReason: null,
      local: null,
    });
  });

  it('auto without influxd installed: nowhere, saying how to install it', async () => {
    const target = await withPath(null, () => resolveInfluxTarget(configWith({ mode: 'auto' }), silent));
    expect(target).toEqual({
      url: null,
      disabledReason: 'no InfluxDB configured and no influxd installed (apt-get install influxdb); telemetry is not stored',
      local: null,
    });
  });

  it('auto with an influxd that fails to start: nowhere, with the first line of why', async () => {
    const script = '#!/bin/sh\necho "run: open server: listen tcp: address already in use" >&2\nexit 1\n';
    const target = await withPath(script, () => resolveInfluxTarget(configWith({ mode: 'auto' }), silent));
    expect(target).toEqual({
      url: null,
      disabledReason: 'local influxd failed to start: influxd exited with code 1 before answering',
      local: null,
    });
  });
});

describe('the InfluxDB sink as configured', () => {
  it('no URL, no sink', async () => {
    expect(await startInfluxSink(V1, null, createGatewayMetrics({ processMetrics: false }), silent)).toBeNull();
  });

  it('a started sink writes in batches of influx.batchSize to the configured database', async () => {
    const influx = await fakeInflux();
    const sink = await startInfluxSink(V1, influx.url, createGatewayMetrics({ processMetrics: false }), silent);
    if (!sink) throw new Error('no sink');
    cleanup.push(() => sink.close());
    expect(sink.status()).toMatchObject({ ready: true, reason: null });
    expect(influx.received).toEqual([{ path: '/query', params: { q: 'CREATE DATABASE "risk"' }, body: '' }]);
    const reading = { site: 's', device: 'd', profile: 'p', ts: 1, metrics: { n: 1 } };
    sink.writeTelemetry(reading);
    sink.writeTelemetry(reading);
    sink.writeTelemetry(reading);
    await sink.flush();
    expect(influx.received.slice(1).map((r) => [r.path, r.params.db, r.body.split('\n').length])).toEqual([
      ['/write', 'risk', 2],
      ['/write', 'risk', 1],
    ]);
  });

  it('uses the queue it is given, and hands refused points to onRefused', async () => {
    const influx = await fakeInflux(400);
    const queue = createMemoryPointQueue(10);
    const refused: string[] = [];
    const metrics = createGatewayMetrics({ processMetrics: false });
    const sink = await startInfluxSink(V1, influx.url, metrics, silent, queue, (points) => refused.push(...points.map((p) => p.line)));
    if (!sink) throw new Error('no sink');
    cleanup.push(() => sink.close());
    sink.writeTelemetry({ site: 's', device: 'd', profile: 'p', ts: 1, metrics: { n: 1 } });
    expect(queue.waiting).toBe(1);
    await sink.flush();
    expect(refused).toEqual(['telemetry,device=d,profile=p,site=s n=1 1']);
  });
});

describe('the writer for influx.version', () => {
  it('1.x writes to the database; a retention becomes the policy in seconds, inf leaves the database its own', async () => {
    const influx = await fakeInflux();
    const writer = createInfluxWriter({ ...V1, username: 'gw', password: 'pw', retention: 7_200_000 }, influx.url);
    expect(writer.target).toBe(`${influx.url} db=risk`);
    await writer.prepare();
    await createInfluxWriter(V1, influx.url).prepare();
    expect(influx.received.map((r) => [r.params.q, r.params.u, r.params.p])).toEqual([
      ['CREATE DATABASE "risk"', 'gw', 'pw'],
      ['CREATE RETENTION POLICY "gateway" ON "risk" DURATION 7200s REPLICATION 1 DEFAULT', 'gw', 'pw'],
      ['CREATE DATABASE "risk"', undefined, undefined],
    ]);
  });

  it('2.x writes to the org and bucket; without any of org, bucket or token it is a config fault', async () => {
    expect(createInfluxWriter(V2, 'http://influx.example:8086').target).toBe('http://influx.example:8086 org=acme bucket=risk-b');
    for (const key of ['org', 'bucket', 'token'] as const) {
      const error = (() => {
        try {
          createInfluxWriter({ ...V2, [key]: undefined }, 'http://influx.example:8086');
        } catch (e) {
          return e;
        }
      })();
      expect(error, key).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('config_invalid');
      expect((error as GatewayError).message).toBe('influx.version 2 needs influx.org, influx.bucket and influx.token');
    }
  });
});

/** An `influxd` stand-in: node answering 204 on the `[http]` bind-address of the config it is run with. */
function influxdStandIn(): string {
  const dir = mkdtempSync(join(tmpdir(), 'influxd-stand-in-'));
  const server = join(dir, 'server.cjs');
  writeFileSync(
    server,
    [
      "const config = require('node:fs').readFileSync(process.argv[process.argv.indexOf('-config') + 1], 'utf8');",
      'const port = Number(config.match(/\\[http\\]\\s*bind-address = "127\\.0\\.0\\.1:(\\d+)"/)[1]);',
      "require('node:http').createServer((q, r) => r.writeHead(204).end()).listen(port, '127.0.0.1');",
    ].join('\n'),
  );
  return `#!/bin/sh\nexec "${process.execPath}" "${server}" "$@"\n`;
}

describe('what the log says about where telemetry goes', () => {
  it('auto without influxd: a warning that writes are disabled, with the reason', async () => {
    const { log, lines } = recordingLogger();
    const target = await withPath(null, () => resolveInfluxTarget(configWith({ mode: 'auto' }), log));
    expect(lines.map((l) => [l.level, l.msg, l.reason])).toEqual([[40, 'influxdb writes disabled', target.disabledReason]]);
  });

  it('auto with an influxd that fails to start: a warning that writes are disabled, with the error', async () => {
    const { log, lines } = recordingLogger();
    const script = '#!/bin/sh\necho "run: open server: listen tcp: address already in use" >&2\nexit 1\n';
    await withPath(script, () => resolveInfluxTarget(configWith({ mode: 'auto' }), log));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[40, 'influxdb writes disabled']]);
    expect(lines[0]?.err).toMatchObject({ message: expect.stringContaining('address already in use') });
  });

  it('auto with influxd installed: the local server it started, and its URL in the log', async () => {
    const { log, lines } = recordingLogger();
    const target = await withPath(influxdStandIn(), () => resolveInfluxTarget(configWith({ mode: 'auto' }), log));
    cleanup.push(() => target.local?.stop());
    expect(target).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), disabledReason: null });
    expect(lines.map((l) => [l.level, l.msg, l.url])).toEqual([[30, 'local influxd started', target.url]]);
  });

  it("the sink's log lines name their component", async () => {
    const influx = await fakeInflux(400);
    const { log, lines } = recordingLogger();
    const sink = await startInfluxSink(V1, influx.url, createGatewayMetrics({ processMetrics: false }), log);
    if (!sink) throw new Error('no sink');
    cleanup.push(() => sink.close());
    sink.writeTelemetry({ site: 's', device: 'd', profile: 'p', ts: 1, metrics: { n: 1 } });
    await sink.flush();
    expect(lines.map((l) => [l.component, l.msg])).toEqual([['influx-sink', 'influxdb refused points']]);
  });
});
