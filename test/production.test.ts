import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BuiltArtefact, buildArtefact } from './helpers/built-artefact.js';
import { writeGatewayConfig } from './helpers/gateway-process.js';
import { queryInflux } from './helpers/influx-query.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, freshDatabase, metricValue, TOKENS } from './helpers/test-gateway.js';

/**
 * What production runs: `npm run build` output started with plain `node` from a directory that holds only the
 * production dependencies (no tsx, TypeScript or vitest to fall back on) and no NODE_OPTIONS or NODE_PATH —
 * the image's layout. Built once for the file (scripts/build.sh into a fresh directory, so a stale dist/ cannot
 * stand in for the current sources).
 */
let artefact: BuiltArtefact;
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(() => {
  artefact = buildArtefact();
  dirs.push(artefact.dir);
}, 300_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-production-'));
  dirs.push(dir);
  return dir;
};

/** `node dist/gateway/src/main.js --config FILE` in the artefact; resolves with its URLs once it logged `gateway started`. */
async function startBuiltGateway(config: string): Promise<{ child: ChildProcess; mqttUrl: string; httpUrl: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['dist/gateway/src/main.js', '--config', config], {
    cwd: artefact.dir,
    env: artefact.env({ LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const started = await new Promise<{ mqtt: string[]; http: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`built gateway did not start within 30 s; stderr:\n${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`built gateway exited (${code}) before starting; stderr:\n${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; mqtt: string[]; http: string };
        if (entry.msg === 'gateway started') {
          clearTimeout(timer);
          resolve(entry);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, mqttUrl: started.mqtt[0] as string, httpUrl: started.http, stderr: () => stderr };
}

const stopped = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

describe('production runs the build with plain node and production dependencies only', () => {
  it('ships no devDependency, and its CLIs answer --help, refuse unknown flags and check the example config with no environment', () => {
    // Every devDependency is absent unless a production dependency needs it too (e.g. @types/node); the loaders never are.
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    for (const name of Object.keys(manifest.devDependencies))
      if (lock.packages[`node_modules/${name}`]?.dev) expect(existsSync(join(artefact.dir, 'node_modules', name)), name).toBe(false);
    for (const name of ['tsx', 'typescript', 'vitest', 'esbuild'])
      expect(existsSync(join(artefact.dir, 'node_modules', name)), name).toBe(false);
    expect(existsSync(join(artefact.dir, 'node_modules', 'fastify'))).toBe(true);

    const help = artefact.node(['dist/gateway/src/main.js', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--config <file>');
    expect(help.stdout).toContain('--check');
    expect(help.stdout).toContain('Exit status');

    const bogus = artefact.node(['dist/gateway/src/main.js', '--bogus']);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toContain("unknown option '--bogus'");

    const env = artefact.env();
    for (const name of ['DEVICE_DC01_HASH', 'API_OPERATOR_TOKEN', 'API_OPERATOR_TOKEN_HASH', 'WEBHOOK_SECRET', 'INFLUX_URL'])
      delete env[name];
    const check = artefact.node(['dist/gateway/src/main.js', '--config', join(process.cwd(), 'config/example.yaml'), '--check'], { env });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('configuration and rule files are valid');

    const hash = artefact.node(['dist/gateway/src/cli/hash-secret.js', 'a-device-secret']);
    expect(hash.status).toBe(0);
    expect(hash.stdout).toMatch(/^sha256\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+\n$/);

    const backtest = artefact.node([
      'dist/gateway/src/cli/backtest.js',
      'recording.ndjson',
      '--current',
      'a.yaml',
      '--candidate',
      'b.yaml',
      '--bogus',
    ]);
    expect(backtest.status).toBe(2);
    expect(backtest.stderr).toContain("unknown option '--bogus'");
    const backtestHelp = artefact.node(['dist/gateway/src/cli/backtest.js', '--help']);
    expect(backtestHelp.status).toBe(0);
    expect(backtestHelp.stdout).toContain('--candidate');

    const simulateHelp = artefact.node(['dist/simulators/src/cli/simulate.js', '--help']);
    expect(simulateHelp.status).toBe(0);
    expect(simulateHelp.stdout).toContain('--fast');
    expect(artefact.node(['dist/simulators/src/cli/simulate.js', '--scenario', 'demo', '--speed', 'fast']).status).toBe(2);
  });

  it('the built gateway (telemetry worker thread) takes a real device reading, stores it in InfluxDB and raises its alarm', async () => {
    const dir = tempDir();
    const database = freshDatabase();
    const device = { id: 'dc-01', site: 'plant-a', profile: 'dust-collector', secret: 'secret-dc-01' };
    const config = await writeGatewayConfig(
      dir,
      [device],
      [
        'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
        `influx: { mode: url, url: "${inject('influxUrl')}", database: ${database}, flushInterval: 100, retention: 1d }`,
        'lane: { thread: worker }',
      ],
    );
    const gateway = await startBuiltGateway(config);
    const client = await connectDevice(gateway.mqttUrl, { clientId: device.id, username: device.id, password: device.secret });
    await publishJson(client, telemetryTopicOf(device.site, device.id), { seq: 1, metrics: { hopper_temp: 82.5 } });
    await client.endAsync();

    const alarm = await eventually(
      'the hopper temperature alarm on the API',
      async () => {
        const { body } = await api({ httpUrl: gateway.httpUrl } as never, '/api/alarms?device=dc-01', { token: TOKENS.viewer });
        return (body.alarms as Array<{ rule: string; value: number }> | undefined)?.find((a) => a.rule === 'hopper_temp_high');
      },
      20_000,
    );
    expect(alarm.value).toBe(82.5);
    const rows = await eventually('the reading in InfluxDB', async () => {
      const found = await queryInflux(database, `SELECT "hopper_temp" FROM "telemetry" WHERE "device" = 'dc-01'`);
      return found.length > 0 ? found : undefined;
    });
    expect(rows[0].hopper_temp).toBe(82.5);
    const ready = await fetch(`${gateway.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    // the store's checkpointer, a thread of its own, runs from the build too: it has copied those commits into the file
    await eventually('a checkpoint of the store on /metrics', async () => {
      const count = metricValue(await (await fetch(`${gateway.httpUrl}/metrics`)).text(), 'gateway_store_checkpoint_seconds_count');
      return count > 0 ? count : undefined;
    });

    expect(await stopped(gateway.child)).toBe(0);
    expect(gateway.stderr()).not.toMatch(/tsx|Cannot find module|ERR_MODULE_NOT_FOUND/);
  });

  it('simulate fleet --registry writes a registry the gateway loads (deviceFiles), and the load fleet is accepted', async () => {
    const dir = tempDir();
    const registry = join(dir, 'load-registry.yaml');
    const written = artefact.node([
      'dist/simulators/src/cli/simulate.js',
      'fleet',
      '--profile',
      'dust-collector',
      '--devices',
      '40',
      '--registry',
      registry,
    ]);
    expect(written.stderr).toBe('');
    expect(written.status).toBe(0);
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
        'http: { host: 127.0.0.1, port: 0 }',
        'influx: { mode: off }',
        `dataDir: ${JSON.stringify(dir)}`,
        `api: { tokens: [{ name: viewer, role: viewer, token: ${TOKENS.viewer} }] }`,
        `deviceFiles: [${JSON.stringify(registry)}]`,
      ].join('\n'),
    );
    const gateway = await startBuiltGateway(config);
    const load = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          'dist/simulators/src/cli/simulate.js',
          '--profile',
          'dust-collector',
          '--devices',
          '40',
          '--rate',
          '80',
          '--duration',
          '4s',
          '--url',
          gateway.mqttUrl,
        ],
        { cwd: artefact.dir, env: artefact.env(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.once('exit', (code) => resolve({ code, out }));
    });
    expect(load.out).toMatch(/errors 0/);
    expect(load.code).toBe(0);
    const { body } = await api({ httpUrl: gateway.httpUrl } as never, '/api/devices', { token: TOKENS.viewer });
    const devices = body.devices as Array<{ id: string; lastReadingAt: string | null }>;
    expect(devices).toHaveLength(40);
    expect(devices.every((d) => d.id.startsWith('load-dust-collector-'))).toBe(true);
    expect(devices.filter((d) => d.lastReadingAt === null).map((d) => d.id)).toEqual([]);
    expect(await stopped(gateway.child)).toBe(0);
  });

  it('a server checkout: npm run build, npm prune --omit=dev, then npm run gateway runs dist/ (stale by content, not mtime; no TypeScript: a warning, not a refusal)', () => {
    // The README's server recipe in a copy of the tree: the prune rewrites package-lock.json (same content, new
    // mtime) and removes TypeScript; run-built.sh must still run dist/ rather than try to rebuild it.
    const checkout = tempDir();
    for (const name of [
      'gateway',
      'rules',
      'profiles',
      'simulators',
      'scripts',
      'config',
      'tsconfig.json',
      'tsconfig.build.json',
      'package.json',
      'package-lock.json',
    ])
      cpSync(name, join(checkout, name), { recursive: true });
    mkdirSync(join(checkout, 'node_modules'));
    // Hard links (no download, no copy), except npm's hidden lock file, which the prune rewrites, and vite caches.
    for (const entry of readdirSync('node_modules')) {
      if (entry === '.package-lock.json' || entry.startsWith('.vite')) continue;
      const linked = spawnSync('cp', ['-al', join('node_modules', entry), join(checkout, 'node_modules', entry)]);
      if (linked.status !== 0) cpSync(join('node_modules', entry), join(checkout, 'node_modules', entry), { recursive: true });
    }
    copyFileSync('node_modules/.package-lock.json', join(checkout, 'node_modules/.package-lock.json'));
    const run = (command: string, args: string[]): { status: number | null; stdout: string; stderr: string } =>
      spawnSync(command, args, { cwd: checkout, encoding: 'utf8', env: artefact.env(), timeout: 240_000 });

    // `npm run build` is scripts/build.sh, which built the artefact's dist/ from these same files a moment ago:
    // its output is copied rather than compiled twice (the stamp must still match the checkout's inputs).
    cpSync(join(artefact.dir, 'dist'), join(checkout, 'dist'), { recursive: true });
    expect(readFileSync(join(checkout, 'dist/.build-stamp'), 'utf8').trim()).toBe(run('bash', ['scripts/build-hash.sh']).stdout.trim());
    const prune = run('npm', ['prune', '--omit=dev', '--no-audit', '--no-fund']);
    expect(prune.status, prune.stderr).toBe(0);
    expect(existsSync(join(checkout, 'node_modules/.bin/tsc'))).toBe(false);

    const gateway = (): { status: number | null; stdout: string; stderr: string } =>
      run('npm', ['run', '--silent', 'gateway', '--', '--check', '--config', 'config/example.yaml']);
    const fresh = gateway();
    expect(fresh.stderr).toBe('');
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toContain('configuration and rule files are valid');

    appendFileSync(join(checkout, 'gateway/src/main.ts'), '\n// edited after the build\n');
    const stale = gateway();
    expect(stale.status).toBe(0);
    expect(stale.stdout).toContain('configuration and rule files are valid');
    expect(stale.stderr).toMatch(/^warning: dist\/ is older than the sources .* running dist\/ as it is/);

    rmSync(join(checkout, 'dist'), { recursive: true });
    const missing = gateway();
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('dist/gateway/src/main.js is missing and TypeScript is not installed to build it');
  }, 300_000);

  it("the image's HEALTHCHECK (scripts/healthcheck.mjs) finds the gateway on the HTTP port its --config sets, not a fixed 8080", async () => {
    const dir = tempDir();
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
        `http: { host: 0.0.0.0, port: ${port} }`,
        'influx: { mode: off }',
        `dataDir: ${JSON.stringify(dir)}`,
        `api: { tokens: [{ name: viewer, role: viewer, token: ${TOKENS.viewer} }] }`,
      ].join('\n'),
    );
    // Where the Dockerfile puts it, beside the production node_modules (it imports yaml).
    mkdirSync(join(artefact.dir, 'scripts'), { recursive: true });
    copyFileSync('scripts/healthcheck.mjs', join(artefact.dir, 'scripts/healthcheck.mjs'));
    const gateway = await startBuiltGateway(config);
    expect(gateway.httpUrl).toContain(`:${port}`);
    // In the container the gateway is PID 1; here HEALTHCHECK_PID points at it.
    const check = () =>
      artefact.node(['scripts/healthcheck.mjs', '/healthz'], { env: artefact.env({ HEALTHCHECK_PID: String(gateway.child.pid) }) });
    const healthy = check();
    expect(healthy.stderr).toBe('');
    expect(healthy.status).toBe(0);
    const pid = gateway.child.pid as number;
    const elsewhere = artefact.node(['scripts/healthcheck.mjs'], {
      env: artefact.env({ HEALTHCHECK_PID: String(pid), HEALTHCHECK_PORT: '9' }),
    });
    expect(elsewhere.status).toBe(1);
    expect(await stopped(gateway.child)).toBe(0);
  });
});
