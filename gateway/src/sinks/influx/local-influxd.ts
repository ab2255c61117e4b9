import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface LocalInfluxd {
  url: string;
  /** The influxd process (benchmarks read its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

/** The `influxd` binary on PATH, or null. */
export function findInfluxd(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v influxd'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : null;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`influxd exited with code ${child.exitCode} before answering`);
    try {
      const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
      if (response.status === 204 || response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`influxd did not answer ${url}/ping within ${timeoutMs} ms`);
}

/**
 * Starts a private InfluxDB 1.x server (Debian package `influxdb`) with its data under `dataDir`, on
 * loopback ports of its own: the demo's embedded default and the tests' throwaway server.
 */
export async function startLocalInfluxd(options: { dataDir: string; port?: number; binary?: string }): Promise<LocalInfluxd> {
  const binary = options.binary ?? findInfluxd();
  if (!binary) throw new Error('influxd not found on PATH; install it with: apt-get install -y influxdb');
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const httpPort = options.port ?? (await freePort());
  const rpcPort = await freePort();
  const config = join(dir, 'influxd.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '  trace-logging-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${httpPort}"`,
      '  log-enabled = false',
      '[logging]',
      '  level = "warn"',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  const child = spawn(binary, ['run', '-config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const url = `http://127.0.0.1:${httpPort}`;
  try {
    await waitForPing(url, child, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    url,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(killer);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
