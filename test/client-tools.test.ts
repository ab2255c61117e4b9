import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
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
  // Debian installs daemons such as haproxy in /usr/sbin, which is not on every user's PATH.
  const found = spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${command}`], { encoding: 'utf8' });
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

/** A service as `docker-compose config` writes it (the parts the tests read). */
interface ComposeService {
  restart?: string;
  ports?: unknown[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

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
        GRAFANA_ADMIN_PASSWORD: 'grafana-admin-0001',
      },
      timeout: 60_000,
    });
    expect(full.stderr).toBe('');
    expect(full.status).toBe(0);
    expect(full.stdout).toContain('/app/config/docker.yaml');
    const services = (parseYaml(full.stdout) as { services: Record<string, ComposeService> }).services;
    // the gateway starts while InfluxDB loads (its spool holds readings): started, not healthy
    expect(services.gateway?.depends_on?.influxdb?.condition).toBe('service_started');
    // every service comes back after a reboot or a crash
    for (const [name, service] of Object.entries(services)) expect(service.restart, name).toBe('unless-stopped');
    // Grafana (all plant telemetry and alarm history) and Prometheus: this host only, Grafana without anonymous access
    // docker-compose 1.x writes `127.0.0.1:3000:3000/tcp`, 2.x `{ host_ip, published, target }`
    for (const name of ['grafana', 'prometheus'])
      for (const port of services[name]?.ports ?? [])
        expect(typeof port === 'string' ? port.split(':')[0] : (port as { host_ip?: string }).host_ip, name).toBe('127.0.0.1');
    expect(services.grafana?.environment?.GF_AUTH_ANONYMOUS_ENABLED).toBe('false');
    expect(services.grafana?.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('grafana-admin-0001');
  });

  it("Prometheus's alert rules are valid, fire on their series (promtool test rules) and name only metrics the gateway has", () => {
    requireTool('promtool', 'prometheus');
    const checked = spawnSync('promtool', ['check', 'rules', 'dashboards/prometheus/alerts.yml'], { encoding: 'utf8', timeout: 30_000 });
    expect(checked.status, checked.stdout + checked.stderr).toBe(0);
    const tested = spawnSync('promtool', ['test', 'rules', 'alerts.test.yml'], {
      cwd: 'dashboards/prometheus',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(tested.status, tested.stdout + tested.stderr).toBe(0);
    const known = new Set(
      [...readFileSync('gateway/src/observability/metrics.ts', 'utf8').matchAll(/name: '(gateway_[a-z_]+)'/g)].map((m) => m[1]),
    );
    const named = new Set(
      [...readFileSync('dashboards/prometheus/alerts.yml', 'utf8').matchAll(/\b(gateway_[a-z_]+)\b/g)].map((m) => m[1]),
    );
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect(known, name).toContain(name);
  });

  it('Prometheus scrapes every gateway service of every profile, and promtool takes its config', () => {
    requireTool('promtool', 'prometheus');
    const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const gateways = Object.entries(compose.services)
      .filter(([, service]) => service.command?.[0] === '--config')
      .map(([name]) => `${name}:8080`);
    expect(gateways).toEqual(expect.arrayContaining(['gateway:8080', 'gateway-influx2:8080']));
    const prometheus = parseYaml(readFileSync('dashboards/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: Array<{ dns_sd_configs: Array<{ names: string[]; port: number }> }>;
    };
    // found by DNS: a service of a profile not started has no address, so no target forever down
    const targets = prometheus.scrape_configs.flatMap((job) =>
      job.dns_sd_configs.flatMap((config) => config.names.map((name) => `${name}:${config.port}`)),
    );
    expect(targets.sort()).toEqual(gateways.sort());
    const checked = spawnSync('promtool', ['check', 'config', 'dashboards/prometheus/prometheus.yml'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(checked.status, checked.stderr).toBe(0);
  });

  describe('its cluster profile: three gateway nodes, Redis, InfluxDB and HAProxy in front', () => {
    const NODES = ['gateway-node-a', 'gateway-node-b', 'gateway-node-c'];
    const COMPOSE_ENV = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DEVICE_DC01_HASH: 'sha256$c2FsdA==$aGFzaA==',
      API_OPERATOR_TOKEN: 'operator-token-0001',
      API_ADMIN_TOKEN: 'admin-token-00001',
      GRAFANA_ADMIN_PASSWORD: 'grafana-admin-0001',
    };
    type Service = {
      profiles?: string[];
      image?: string;
      command?: string[];
      environment?: Record<string, string>;
      volumes?: string[];
      ports?: unknown[];
      depends_on?: Record<string, { condition: string }>;
      healthcheck?: { test: string[] };
    };
    let services: Record<string, Service>;

    beforeAll(() => {
      requireTool('docker-compose', 'docker-compose');
      const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'cluster', 'config'], {
        encoding: 'utf8',
        env: COMPOSE_ENV,
        timeout: 60_000,
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      services = parseYaml(result.stdout).services;
      // docker-compose config writes a literal $ of a value as $$ (its own escape): the containers get one.
      for (const service of Object.values(services))
        if (service.environment)
          service.environment = Object.fromEntries(
            Object.entries(service.environment).map(([key, value]) => [key, String(value).replaceAll('$$', '$')]),
          );
    });

    it('is valid for docker-compose --profile cluster config: its services, each node with its own nodeId and data volume', () => {
      for (const name of [...NODES, 'redis', 'influxdb', 'haproxy']) expect(Object.keys(services)).toContain(name);
      // Only the profile's own services are new; the default `docker compose up` starts what it started before.
      const always = Object.entries(services).filter(([, service]) => !service.profiles);
      expect(always.map(([name]) => name).sort()).toEqual(['gateway', 'grafana', 'influxdb', 'prometheus']);
      for (const name of [...NODES, 'redis', 'haproxy']) expect(services[name]?.profiles).toEqual(['cluster']);

      const nodes = NODES.map((name) => services[name] as Service);
      for (const node of nodes) {
        expect(node.command).toEqual(['--config', '/app/config/cluster.yaml']);
        expect(node.environment?.CLUSTER_REDIS_URL).toBe('redis://redis:6379');
        expect(node.environment?.DEVICE_DC01_HASH).toBe(COMPOSE_ENV.DEVICE_DC01_HASH);
        expect(node.depends_on?.redis?.condition).toBe('service_healthy');
        expect(node.depends_on?.influxdb?.condition).toBe('service_started');
        expect(node.ports).toBeUndefined();
      }
      const ids = nodes.map((node) => node.environment?.CLUSTER_NODE_ID);
      expect(ids).toEqual(['node-a', 'node-b', 'node-c']);
      const dataVolumes = nodes.map((node) => node.volumes?.find((volume) => volume.includes(':/app/data')));
      expect(new Set(dataVolumes).size).toBe(3);

      const redis = services.redis as Service;
      expect(redis.image).toBe('redis:7');
      expect(redis.command?.join(' ')).toMatch(/--appendonly yes --appendfsync (everysec|always)/);
      expect(redis.healthcheck?.test.join(' ')).toContain('redis-cli ping');

      const haproxy = services.haproxy as Service;
      expect(haproxy.image).toMatch(/^haproxy:/);
      expect(haproxy.volumes).toContain(`${join(process.cwd(), 'deploy/haproxy/haproxy.cfg')}:/usr/local/etc/haproxy/haproxy.cfg:ro`);
      expect(JSON.stringify(haproxy.ports)).toContain('"published":1883');
      expect(JSON.stringify(haproxy.ports)).toContain('"published":8080');
    });

    it("HAProxy's config names every node, in the MQTT and the HTTP backend, each checked on its /readyz", () => {
      const cfg = readFileSync('deploy/haproxy/haproxy.cfg', 'utf8');
      const servers = [...cfg.matchAll(/^\s*server\s+\S+\s+([\w.-]+):(\d+)(.*)$/gm)].map(([, host, port, rest]) => ({ host, port, rest }));
      for (const node of NODES) {
        expect(servers).toContainEqual({ host: node, port: '1883', rest: ' check port 8080' });
        expect(servers).toContainEqual({ host: node, port: '8080', rest: ' check' });
      }
      expect(servers).toHaveLength(6);
      expect(cfg.match(/^\s*option httpchk GET \/readyz$/gm)).toHaveLength(2);
      expect(cfg).toMatch(/^\s*balance leastconn$/m);
    });

    it('HAProxy accepts its config (haproxy -c), the nodes being resolved only at run time', () => {
      const haproxy = requireTool('haproxy', 'haproxy');
      const result = spawnSync(haproxy, ['-c', '-f', 'deploy/haproxy/haproxy.cfg'], { encoding: 'utf8', timeout: 30_000 });
      expect(result.stdout).toContain('Configuration file is valid');
      expect(result.status).toBe(0);
      // The only warnings: the nodes' names do not resolve outside compose (init-addr ...,none starts without them).
      const warnings = result.stderr.split('\n').filter((line) => line.includes('[WARNING]') || line.includes('[ALERT]'));
      expect(warnings).toHaveLength(6);
      for (const line of warnings) expect(line).toMatch(/\[WARNING\].*could not resolve address 'gateway-node-[abc]'/);
    });

    it("the nodes' config file passes the gateway's --check with a node's environment, and names the node's variables when missing", () => {
      const check = (env: Record<string, string | undefined>) =>
        spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts', '--config', 'config/cluster.yaml', '--check'], {
          encoding: 'utf8',
          timeout: 30_000,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'silent', ...env },
        });
      // One node's environment (the nodes differ only in CLUSTER_NODE_ID, checked above); each start costs seconds here.
      const result = check((services['gateway-node-b'] as Service).environment ?? {});
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('valid');
      const {
        CLUSTER_NODE_ID: _id,
        CLUSTER_REDIS_URL: _url,
        ...withoutCluster
      } = (services['gateway-node-a'] as Service).environment ?? {};
      const missing = check(withoutCluster);
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/cluster\.yaml:\d+: cluster\.redis\.url: environment variable CLUSTER_REDIS_URL is not set/);
      expect(missing.stderr).toMatch(/cluster\.yaml:\d+: cluster\.nodeId: environment variable CLUSTER_NODE_ID is not set/);
    });
  });
});
