import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type Demo, startDemo } from '../demo/start-demo.js';
import { DEMO_DEVICES, DEMO_TOKENS } from '../gateway/src/config/demo-config.js';
import { queryInfluxAt } from './helpers/private-influxd.js';
import { listenToAlarmStream } from './helpers/sse-listener.js';
import { eventually } from './helpers/test-gateway.js';

describe("the README's first command (npm start)", () => {
  let demo: Demo | undefined;
  afterAll(() => demo?.stop());

  it('shows the hopper alarm on the SSE stream within a minute, with its reading stored in InfluxDB and every demo device online', async () => {
    demo = await startDemo({
      mqttPort: 0,
      httpPort: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      dataDir: mkdtempSync(join(tmpdir(), 'gateway-demo-')),
    });
    const { gateway } = demo;
    const stream = listenToAlarmStream(gateway.httpUrl, DEMO_TOKENS.viewer);
    await stream.ready;
    // The demo scenario's smouldering deposit heats dc-01's hopper 8 °C/min (simulators/scenarios/demo.yaml).
    const raised = await eventually(
      'the hopper temperature alarm on the live stream',
      () => stream.events.find((e) => e.data.type === 'alarm.raised' && e.data.data.alarm.rule === 'hopper_temp_rising'),
      60_000,
    );
    stream.close();
    const alarm = raised.data.data.alarm;
    expect(alarm).toMatchObject({ site: 'plant-a', device: 'dc-01', metric: 'hopper_temp', severity: 'orange', state: 'active' });
    expect(alarm.value).toBeGreaterThanOrEqual(alarm.threshold);
    expect(alarm.message).toMatch(/^Hopper temperature rising [\d.]+ \S+ \(limit 5 \S+: smouldering dust\)$/);

    // The reading that raised it is the one the simulator sent: stored in the demo's InfluxDB at the event's time.
    expect(gateway.influx.url, `demo InfluxDB: ${gateway.influx.disabledReason}`).not.toBeNull();
    const stored = await eventually('the reading in InfluxDB', async () => {
      const rows = await queryInfluxAt(
        gateway.influx.url!,
        'risk',
        `SELECT hopper_temp FROM telemetry WHERE "device" = 'dc-01' AND time = '${raised.data.timestamp}'`,
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.hopper_temp).toBeGreaterThan(20);

    const response = await fetch(`${gateway.httpUrl}/api/devices`, { headers: { authorization: `Bearer ${DEMO_TOKENS.viewer}` } });
    const { devices } = (await response.json()) as { devices: Array<{ id: string; profile: string; online: boolean }> };
    expect(devices.map((d) => d.id).sort()).toEqual(DEMO_DEVICES.map((d) => d.id).sort());
    expect(devices.filter((d) => !d.online).map((d) => d.id)).toEqual([]);
    expect(new Set(devices.map((d) => d.profile)).size).toBeGreaterThanOrEqual(6);
  }, 90_000);

  it('binds 127.0.0.1 only when no --host is given (the demo tokens are public)', async () => {
    // The entry as `npm start` runs it (no --host), in a scratch directory for its ./data; ports 0.
    const cwd = mkdtempSync(join(tmpdir(), 'gateway-demo-host-'));
    const tsx = pathToFileURL(join(process.cwd(), 'node_modules/tsx/dist/loader.mjs')).href;
    const child = spawn(
      process.execPath,
      ['--import', tsx, join(process.cwd(), 'demo/start-demo.ts'), '--mqtt-port', '0', '--http-port', '0', '--duration', '60s'],
      { cwd, env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await eventually('the demo banner', () => (out.includes('Ctrl-C stops') ? true : undefined), 60_000);
      expect(out).toContain('Listening on    127.0.0.1 (this machine only');

      // The process's listening TCP sockets, from /proc: its socket inodes, matched to the LISTEN rows (state 0A).
      const inodes = new Set<string>();
      for (const fd of readdirSync(`/proc/${child.pid}/fd`)) {
        try {
          const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${child.pid}/fd/${fd}`));
          if (match) inodes.add(match[1] as string);
        } catch {
          // closed meanwhile
        }
      }
      const listening: string[] = [];
      for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
        for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
          const cols = row.trim().split(/\s+/);
          if (cols[3] === '0A' && inodes.has(cols[9] as string)) listening.push(`${table.endsWith('6') ? 'v6' : 'v4'} ${cols[1]}`);
        }
      }
      // MQTT and HTTP at least; every one on 127.0.0.1 (0100007F), none on 0.0.0.0 or ::.
      expect(listening.length, listening.join(', ')).toBeGreaterThanOrEqual(2);
      for (const socket of listening) expect(socket).toMatch(/^v4 0100007F:[0-9A-F]{4}$/);
      const http = /HTTP API\s+(http:\/\/\S+)/.exec(out)?.[1] as string;
      expect(http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${http}/healthz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 90_000);
});
