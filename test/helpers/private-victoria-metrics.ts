import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../gateway/src/sinks/influx/local-influxd.js';

/** One series as `/api/v1/export` gives it: a metric name with its labels, and its samples. */
export interface ExportedSeries {
  metric: Record<string, string> & { __name__: string };
  values: number[];
  timestamps: number[];
}

/**
 * A real VictoriaMetrics (Debian package `victoria-metrics`) of one test's own: it accepts the InfluxDB 2.x
 * write API (`POST /api/v2/write?org=…&bucket=…`) and can be queried back. It stores line protocol
 * `measurement,tags field=value` as the series `measurement_field{tags}`; it ignores org and bucket, so a test
 * that needs separate data needs a server of its own.
 */
export interface PrivateVictoriaMetrics {
  url: string;
  readonly running: boolean;
  /** Stops the server (SIGTERM, which flushes its data): writes to `url` are refused until `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Every sample stored so far of the series matching a selector such as `{__name__=~"telemetry_.*"}`. */
  exportSeries(selector: string): Promise<ExportedSeries[]>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export function findVictoriaMetrics(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v victoria-metrics'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : null;
}

export async function startPrivateVictoriaMetrics(): Promise<PrivateVictoriaMetrics> {
  const binary = findVictoriaMetrics();
  if (!binary)
    throw new Error(
      'this test needs victoria-metrics, a server for the InfluxDB 2.x write API (Debian package victoria-metrics): ' +
        'apt-get install -y victoria-metrics, or run npm test, whose scripts/ensure-system-deps.sh installs it',
    );
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-private-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child) return;
    const args = [
      `-storageDataPath=${dataDir}`,
      `-httpListenAddr=127.0.0.1:${port}`,
      // Points of any age are kept (the default keeps one month and silently drops older samples).
      '-retentionPeriod=100y',
      '-loggerLevel=ERROR',
      '-search.disableCache',
      '-memory.allowedPercent=10',
    ];
    const server = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    child = server;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (server.exitCode !== null) break;
      const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) }).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    server.kill('SIGKILL');
    child = null;
    throw new Error(`victoria-metrics did not answer ${url}/health within 20 s (exit code ${server.exitCode})\n${stderr}`);
  };

  const stop = (): Promise<void> =>
    new Promise((done) => {
      const server = child;
      child = null;
      if (!server || server.exitCode !== null) return done();
      const killer = setTimeout(() => server.kill('SIGKILL'), 10_000);
      server.once('exit', () => {
        clearTimeout(killer);
        done();
      });
      server.kill('SIGTERM');
    });

  const handle: PrivateVictoriaMetrics = {
    url,
    get running() {
      return child !== null;
    },
    stop,
    start,
    async exportSeries(selector) {
      // Points become searchable when the server flushes them (up to ~10 s after a new series); flush now.
      const flushed = await fetch(`${url}/internal/force_flush`);
      if (!flushed.ok) throw new Error(`victoria-metrics force_flush failed with HTTP ${flushed.status}`);
      await flushed.arrayBuffer();
      const response = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': selector })}`);
      if (!response.ok) throw new Error(`victoria-metrics export failed with HTTP ${response.status}: ${await response.text()}`);
      const text = await response.text();
      const series = text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ExportedSeries);
      return series.sort((a, b) => a.metric.__name__.localeCompare(b.metric.__name__));
    },
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await start();
  return handle;
}
