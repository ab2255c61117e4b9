import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { DUST_DEVICES, freshDatabase } from './helpers/test-gateway.js';

describe('LOG_LEVEL (the gateway process)', () => {
  let running: GatewayProcess | null = null;
  afterEach(async () => {
    await running?.stop();
    running = null;
  });

  it('reaches the telemetry worker too: its InfluxDB sink logs at LOG_LEVEL (info here), not at the file’s logLevel (error)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-log-level-'));
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      `influx: { mode: url, url: "http://127.0.0.1:9", database: ${freshDatabase()} }`,
      'lane: { thread: worker }',
    ]);
    writeFileSync(config, readFileSync(config, 'utf8').replace('logLevel: info', 'logLevel: error'));
    // the test helper runs the gateway with LOG_LEVEL=info
    running = await startGatewayProcess(config);
    const warned = await running.waitForLog(
      'the worker’s InfluxDB sink warning',
      (entry) => entry.msg === 'influxdb not reachable at start; will retry',
    );
    expect(warned).toMatchObject({ level: 40, component: 'influx-sink' });
  }, 60_000);
});
