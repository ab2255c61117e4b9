import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, inject, it } from 'vitest';
import { hashSecret } from '../gateway/src/devices/secret-hash.js';
import { queryInflux } from './helpers/influx-query.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { freshDatabase } from './helpers/test-gateway.js';

describe('the gateway process on SIGTERM', () => {
  it('stops accepting, flushes what it holds to InfluxDB, and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-shutdown-'));
    const database = freshDatabase();
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
        'http: { host: 127.0.0.1, port: 0 }',
        // A long flush interval and a big batch: only the shutdown flush can write these points.
        `influx: { mode: url, url: "${inject('influxUrl')}", database: ${database}, flushInterval: 10m, batchSize: 100000 }`,
        `dataDir: ${dir}`,
        'devices:',
        `  - { id: dc-01, site: site-a, profile: dust-collector, secretHash: "${await hashSecret('s3cret-dc-01')}" }`,
        'logLevel: info',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: Array<Record<string, unknown>> = [];
    const started = new Promise<{ mqtt: string[] }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        try {
          const entry = JSON.parse(line);
          logs.push(entry);
          if (entry.msg === 'gateway started') resolve(entry);
        } catch {
          // not a log line
        }
      });
      child.once('exit', (code) => reject(new Error(`gateway exited early with ${code}`)));
    });
    const { mqtt } = await started;
    const device = await connectDevice(mqtt[0]!, { username: 'dc-01', password: 's3cret-dc-01', clientId: 'dc-01' });
    const base = Date.parse('2026-11-22T09:00:00Z');
    for (let i = 0; i < 50; i += 1)
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), {
        ts: base + i * 1000,
        seq: i,
        metrics: { hopper_temp: 30 + i / 10 },
      });
    device.end(true);

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutdown requested', 'gateway stopping', 'gateway stopped']));
    const rows = await queryInflux(database, 'SELECT count(hopper_temp) FROM telemetry');
    expect(rows[0]?.count).toBe(50);
  });
});
