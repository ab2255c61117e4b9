import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { type ExportedSeries, type PrivateVictoriaMetrics, startPrivateVictoriaMetrics } from './helpers/private-victoria-metrics.js';
import { api, eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/**
 * influx.version 2 end to end: real MQTT devices, the real gateway, and a real server that speaks the InfluxDB
 * 2.x write API and can be queried back — VictoriaMetrics (Debian `victoria-metrics`). It stores line protocol
 * `measurement,tags field=value` as the series `measurement_field{tags}` with the point's timestamp; numbers as
 * they are, booleans as 1/0, and string fields as 0 (their text is lost): what a real InfluxDB 2.x keeps of a
 * string (the rotary valve's state, an alarm's message and id) is not verified here.
 */
const T0 = Math.floor(Date.now() / 1_000) * 1_000 - 30 * 60_000 + 250;

/** Each series by its name (without labels), with its samples as [timestamp, value]. */
const byName = (series: ExportedSeries[]): Record<string, { labels: Record<string, string>; samples: Array<[number, number]> }> =>
  Object.fromEntries(
    series.map(({ metric: { __name__, ...labels }, values, timestamps }) => [
      __name__,
      { labels, samples: timestamps.map((t, i) => [t, values[i] as number] as [number, number]) },
    ]),
  );

describe('influx.version 2: telemetry and alarm events reach a server speaking the InfluxDB 2.x write API (victoria-metrics)', () => {
  let server: PrivateVictoriaMetrics;
  let gateway: TestGateway;
  let dc01: MqttClient;
  let dc02: MqttClient;
  beforeAll(async () => {
    server = await startPrivateVictoriaMetrics();
    gateway = await startTestGateway({
      overrides: {
        influx: { mode: 'url', version: 2, url: server.url, org: 'plant-ops', bucket: 'risk', token: 'a-write-token', flushInterval: 50 },
      },
    });
    dc01 = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    dc02 = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });
  });
  afterAll(async () => {
    await dc01?.endAsync();
    await dc02?.endAsync();
    await gateway?.close();
    await server?.dispose();
  });

  it('is ready (/readyz 200, influxdb ready) once the server answers', async () => {
    const { status, body } = await api(gateway, '/readyz', { token: null });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ready: true, reasons: [], degraded: [] });
    expect(body.checks.find((c: { name: string }) => c.name === 'influxdb')).toMatchObject({ ready: true });
  });

  it('stores a reading with site/device/profile tags, canonical units and its own timestamp', async () => {
    await publishJson(dc01, telemetryTopicOf('site-a', 'dc-01'), {
      ts: T0,
      seq: 1,
      metrics: { diff_pressure: 1.21, hopper_temp: 100.4, rotary_valve: 'running', fan_running: true },
      units: { diff_pressure: 'kPa', hopper_temp: '°F' },
    });
    const stored = await eventually('the reading in victoria-metrics', async () => {
      const found = byName(await server.exportSeries('{__name__=~"telemetry_.*",device="dc-01"}'));
      return Object.keys(found).length === 5 ? found : undefined;
    });
    expect(Object.keys(stored)).toEqual([
      'telemetry_diff_pressure',
      'telemetry_fan_running',
      'telemetry_hopper_temp',
      'telemetry_rotary_valve',
      'telemetry_seq',
    ]);
    for (const series of Object.values(stored)) {
      // Exactly these labels: a 1.x write (`/write?db=…`) would also carry a `db` label.
      expect(series.labels).toEqual({ site: 'site-a', device: 'dc-01', profile: 'dust-collector' });
      expect(series.samples.map(([t]) => t)).toEqual([T0]);
    }
    expect(stored.telemetry_diff_pressure?.samples[0]?.[1]).toBe(1210);
    expect(stored.telemetry_hopper_temp?.samples[0]?.[1]).toBeCloseTo(38, 6);
    expect(stored.telemetry_fan_running?.samples[0]?.[1]).toBe(1);
    expect(stored.telemetry_seq?.samples[0]?.[1]).toBe(1);
    // A string field: victoria-metrics keeps the point but not the text.
    expect(stored.telemetry_rotary_valve?.samples[0]?.[1]).toBe(0);
  });

  it('stores every reading of a backlog upload at its own millisecond (one batch over 1 kB: sent gzip-compressed)', async () => {
    const backlog = Array.from({ length: 20 }, (_, i) => ({ at: T0 + 60_000 + i * 5_000 + (i % 2) * 500, temp: 30 + i / 4 }));
    await publishJson(dc01, telemetryTopicOf('site-a', 'dc-01'), {
      readings: backlog.map(({ at, temp }, i) => ({
        ts: i % 2 ? new Date(at).toISOString() : at,
        seq: 2 + i,
        metrics: { hopper_temp: temp },
      })),
    });
    const samples = await eventually('21 hopper_temp samples', async () => {
      const [series] = await server.exportSeries('telemetry_hopper_temp{device="dc-01"}');
      return series?.values.length === 21 ? series.timestamps.map((t, i) => [t, series.values[i]]) : undefined;
    });
    expect(samples).toEqual([[T0, expect.closeTo(38, 6)], ...backlog.map(({ at, temp }) => [at, temp])]);
  });

  it('stores the alarm event of a threshold crossing: tags rule, severity and type; value and threshold', async () => {
    await publishJson(dc01, telemetryTopicOf('site-a', 'dc-01'), { ts: T0 + 20 * 60_000, seq: 100, metrics: { hopper_temp: 61.2 } });
    const alarm = await eventually('the hopper_temp_high alarm on the API', async () => {
      const { body } = await api(gateway, '/api/alarms?device=dc-01');
      return body.alarms.find((a: { rule: string }) => a.rule === 'hopper_temp_high');
    });
    const stored = await eventually('the alarm.raised point in victoria-metrics', async () => {
      const found = byName(await server.exportSeries('{__name__=~"alarm_events_.*",rule="hopper_temp_high"}'));
      return found.alarm_events_value && found.alarm_events_threshold && found.alarm_events_seq ? found : undefined;
    });
    const at = Date.parse(alarm.raisedAt);
    for (const name of [
      'alarm_events_value',
      'alarm_events_threshold',
      'alarm_events_seq',
      'alarm_events_alarm_id',
      'alarm_events_message',
    ]) {
      expect(stored[name]?.labels, name).toEqual({
        site: 'site-a',
        device: 'dc-01',
        profile: 'dust-collector',
        rule: 'hopper_temp_high',
        severity: 'yellow',
        type: 'alarm.raised',
      });
      expect(stored[name]?.samples.map(([t]) => t)).toEqual([at]);
    }
    expect(stored.alarm_events_value?.samples[0]?.[1]).toBe(61.2);
    expect(stored.alarm_events_threshold?.samples[0]?.[1]).toBe(60);
    expect(stored.alarm_events_seq?.samples[0]?.[1]).toBe(1);
  });

  it('while the server is down the reading waits in the spool (/readyz degraded), and is written once it is back', async () => {
    await server.stop();
    await publishJson(dc02, telemetryTopicOf('site-a', 'dc-02'), { ts: T0 + 25 * 60_000, seq: 1, metrics: { hopper_temp: 44.5 } });
    const down = await eventually('readyz degraded naming influxdb', async () => {
      const answer = await api(gateway, '/readyz', { token: null });
      return answer.body.degraded.length > 0 ? answer : undefined;
    });
    expect(down.status).toBe(200);
    expect(down.body.degraded.join('\n')).toMatch(/^influxdb: degraded: spooling 1 points \(InfluxDB at .+ unreachable: .+\)$/m);

    await server.start();
    await eventually(
      'readyz healthy again',
      async () => {
        const { body } = await api(gateway, '/readyz', { token: null });
        return body.reasons.length === 0 && body.degraded.length === 0 ? true : undefined;
      },
      40_000,
    );
    const [series] = await eventually('the spooled reading', async () => {
      const found = await server.exportSeries('telemetry_hopper_temp{device="dc-02"}');
      return found.length > 0 ? found : undefined;
    });
    expect(series?.values).toEqual([44.5]);
    expect(series?.timestamps).toEqual([T0 + 25 * 60_000]);
  });
});

/** The gateway entry point as an operator runs it: `--check` validates without starting anything. */
function checkConfig(file: string, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts', '--config', file, '--check'], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'silent', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const COMPOSE_ENV = {
  DEVICE_DC01_HASH: 'sha256$c2FsdA==$aGFzaA==',
  API_OPERATOR_TOKEN: 'operator-token-0001',
  API_ADMIN_TOKEN: 'admin-token-00001',
  GRAFANA_ADMIN_PASSWORD: 'grafana-admin-0001',
};

describe('influx.version 2 configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-influx2-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names each missing or meaningless key with its line', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      ['influx:', '  version: 2', '  mode: auto', '  url: http://influx:8086', '  username: u', '  retention: 7d', ''].join('\n'),
    );
    const result = checkConfig(file, {});
    expect(result.status).toBe(2);
    for (const problem of [
      /bad\.yaml:2: influx\.org: required with influx\.version 2/,
      /bad\.yaml:2: influx\.bucket: required with influx\.version 2/,
      /bad\.yaml:2: influx\.token: required with influx\.version 2/,
      /bad\.yaml:3: influx\.mode: auto starts a local InfluxDB 1\.x/,
      /bad\.yaml:5: influx\.username: only for influx\.version 1/,
      /bad\.yaml:6: influx\.retention: only for influx\.version 1; a 2\.x bucket's retention is set on the server/,
    ])
      expect(result.stderr).toMatch(problem);

    writeFileSync(file, ['influx:', '  bucket: risk', ''].join('\n'));
    const v1 = checkConfig(file, {});
    expect(v1.status).toBe(2);
    expect(v1.stderr).toMatch(/bad\.yaml:2: influx\.bucket: only for influx\.version 2/);
  });

  it("config/influx2.yaml (compose's influx2 profile) is valid with INFLUX_TOKEN set, and names it when not", () => {
    const ok = checkConfig('config/influx2.yaml', { ...COMPOSE_ENV, INFLUX_TOKEN: 'a-write-token' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const missing = checkConfig('config/influx2.yaml', COMPOSE_ENV);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/influx2\.yaml:\d+: influx\.token: environment variable INFLUX_TOKEN is not set/);
  });
});

describe('docker-compose.yml, profile influx2', () => {
  /** docker-compose (Debian) renders the file as it would run it; no Docker engine needed. */
  const compose = (args: string[], env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const found = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' });
      if (found.status !== 0)
        return reject(new Error('docker-compose is not installed: apt-get install -y docker-compose (or run npm test, which installs it)'));
      const child = spawn('docker-compose', ['-f', 'docker-compose.yml', ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.once('exit', (status) => resolve({ status, stdout, stderr }));
    });

  it('validates with --profile influx2: InfluxDB 2.7 set up with org, bucket, retention and the token the gateway uses', async () => {
    const result = await compose(['--profile', 'influx2', 'config'], {
      ...COMPOSE_ENV,
      INFLUX_TOKEN: 'a-write-token',
      INFLUX2_ADMIN_PASSWORD: 'admin-pass',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const service = (name: string): string => {
      const start = result.stdout.indexOf(`\n  ${name}:\n`);
      expect(start, `service ${name}`).toBeGreaterThan(-1);
      const end = result.stdout.slice(start + 1).search(/\n {2}\S/);
      return result.stdout.slice(start, end === -1 ? undefined : start + 1 + end);
    };
    const influxdb2 = service('influxdb2');
    expect(influxdb2).toContain('image: influxdb:2.7');
    expect(influxdb2).toContain('DOCKER_INFLUXDB_INIT_MODE: setup');
    expect(influxdb2).toContain('DOCKER_INFLUXDB_INIT_ORG: risk');
    expect(influxdb2).toContain('DOCKER_INFLUXDB_INIT_BUCKET: risk');
    expect(influxdb2).toContain('DOCKER_INFLUXDB_INIT_RETENTION: 30d');
    expect(influxdb2).toContain('DOCKER_INFLUXDB_INIT_ADMIN_TOKEN: a-write-token');
    const gateway = service('gateway-influx2');
    expect(gateway).toContain('/app/config/influx2.yaml');
    expect(gateway).toContain('INFLUX_TOKEN: a-write-token');
    expect(gateway).toMatch(/influxdb2:\n\s+condition: service_healthy/);
  });

  it('still validates without the profile and without its variables (the 1.x stack is the default)', async () => {
    const result = await compose(['config', '-q'], COMPOSE_ENV);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
