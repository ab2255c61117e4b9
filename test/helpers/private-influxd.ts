import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findInfluxd, freePort, type LocalInfluxd, startLocalInfluxd } from '../../gateway/src/sinks/influx/local-influxd.js';

/** A real influxd of one test's own, on a fixed loopback port and data directory, that the test can stop and start. */
export interface PrivateInfluxd {
  url: string;
  /** Whether the server is running now. */
  readonly running: boolean;
  /** Stops the server (SIGTERM): writes to `url` are refused until `start()`. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export async function startPrivateInfluxd(options: { running?: boolean } = {}): Promise<PrivateInfluxd> {
  if (!findInfluxd()) throw new Error('this test needs influxd (Debian package influxdb): apt-get install -y influxdb');
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-private-influxd-'));
  const port = await freePort();
  let server: LocalInfluxd | null = null;
  const handle: PrivateInfluxd = {
    url: `http://127.0.0.1:${port}`,
    get running() {
      return server !== null;
    },
    async stop() {
      await server?.stop();
      server = null;
    },
    async start() {
      if (server) return;
      server = await startLocalInfluxd({ dataDir, port });
    },
    async dispose() {
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.running ?? true) await handle.start();
  return handle;
}

/** InfluxQL against the InfluxDB at `url` (the 1.x client). */
export async function queryInfluxAt(url: string, database: string, query: string): Promise<any[]> {
  const { InfluxDB } = await import('influx');
  const { hostname, port } = new URL(url);
  return [...(await new InfluxDB({ host: hostname, port: Number(port), database }).query(query))];
}
