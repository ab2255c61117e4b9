import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryInflux } from './helpers/influx-query.js';
import { eventually, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** A stock tool the test runs for real; missing, the test fails naming the Debian package (never skips). */
/** Runs a tool without blocking this process's event loop (the gateway under test runs in it). */
function run(command: string, args: string[], timeoutMs = 10_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function requireTool(command: string, debianPackage: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (found.status !== 0)
    throw new Error(
      `${command} is not installed: apt-get install -y ${debianPackage} (or run npm test, whose scripts/ensure-system-deps.sh installs it)`,
    );
  return found.stdout.trim();
}

const DEVICE = { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-01' };

describe('stock MQTT clients (Mosquitto) against the broker, as contract §1 lets a device use it', () => {
  let gateway: TestGateway;
  let port: string;
  beforeAll(async () => {
    requireTool('mosquitto_pub', 'mosquitto-clients');
    requireTool('mosquitto_sub', 'mosquitto-clients');
    gateway = await startTestGateway({
      devices: [DEVICE, { id: 'dc-02', site: 'site-a', profile: 'dust-collector', secret: 'secret-dc-02' }],
    });
    port = new URL(gateway.mqttUrl).port;
  });
  afterAll(async () => {
    await gateway?.close();
  });

  const login = (clientId: string): string[] => [
    '-h',
    '127.0.0.1',
    '-p',
    port,
    '-V',
    'mqttv311',
    '-i',
    clientId,
    '-u',
    DEVICE.id,
    '-P',
    DEVICE.secret,
  ];

  it('mosquitto_pub with ClientId = device id: the reading is stored', async () => {
    const published = await run('mosquitto_pub', [
      ...login(DEVICE.id),
      '-q',
      '1',
      '-t',
      `sites/${DEVICE.site}/devices/${DEVICE.id}/telemetry`,
      '-m',
      '{"seq":7,"metrics":{"hopper_temp":41.5}}',
    ]);
    expect(published.stderr).toBe('');
    expect(published.status).toBe(0);
    const rows = await eventually('the mosquitto_pub reading in InfluxDB', async () => {
      const found = await queryInflux(gateway.database, `SELECT "hopper_temp", "seq" FROM "telemetry" WHERE "device" = 'dc-01'`);
      return found.length > 0 ? found : undefined;
    });
    expect(rows.map((r) => [r.hopper_temp, r.seq])).toEqual([[41.5, 7]]);
  });

  it("mosquitto_sub is granted the device's own cmd/# and refused another device's (SUBACK 0x80)", async () => {
    // -d prints the SUBACK's granted QoS; -W ends the wait for a command after a few seconds (exit 27).
    const own = await run(
      'mosquitto_sub',
      [...login(DEVICE.id), '-d', '-q', '1', '-W', '2', '-t', `sites/${DEVICE.site}/devices/${DEVICE.id}/cmd/#`],
      15_000,
    );
    expect(own.stdout).toMatch(/Subscribed \(mid: \d+\): 1\b/);
    expect(own.stdout + own.stderr).not.toMatch(/denied/i);

    const refused = await run(
      'mosquitto_sub',
      [...login(`${DEVICE.id}:peek`), '-d', '-q', '1', '-W', '5', '-t', 'sites/site-a/devices/dc-02/cmd/#'],
      15_000,
    );
    expect(refused.stdout).toMatch(/Subscribed \(mid: \d+\): 128\b/);
    expect(refused.stderr).toMatch(/All subscription requests were denied/);
  });
});

describe('docker-compose.yml', () => {
  it('is valid for docker-compose config once its required variables are set, and names each one when not', () => {
    requireTool('docker-compose', 'docker-compose');
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' };
    const missing = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { encoding: 'utf8', env, timeout: 60_000 });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain('DEVICE_DC01_HASH');

    const full = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      encoding: 'utf8',
      env: {
        ...env,
        DEVICE_DC01_HASH: 'sha256$c2FsdA==$aGFzaA==',
        API_OPERATOR_TOKEN: 'operator-token-0001',
        API_ADMIN_TOKEN: 'admin-token-00001',
      },
      timeout: 60_000,
    });
    expect(full.stderr).toBe('');
    expect(full.status).toBe(0);
    expect(full.stdout).toContain('/app/config/docker.yaml');
    expect(full.stdout).toMatch(/condition: service_healthy/);
  });
});
