import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../gateway/src/sinks/influx/local-influxd.js';

/** A real redis-server of one test's own, on a loopback port and a throwaway directory, that the test can stop and start. */
export interface PrivateRedis {
  url: string;
  port: number;
  readonly running: boolean;
  /** Stops the server (SIGTERM; with `appendonly` its data survives into the next `start()`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

function findRedisServer(): string | null {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const binary = findRedisServer();
  if (!binary) throw new Error('this test needs redis-server (Debian package redis-server): apt-get install -y redis-server');
  const dir = mkdtempSync(join(tmpdir(), 'gateway-private-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let log = '';
  const handle: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== null;
    },
    async start() {
      if (child) return;
      log = '';
      // appendonly with fsync on every write: what a cluster's Redis should run with (README, Several nodes as one)
      child = spawn(
        binary,
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
      });
      const started = Date.now();
      while (!(await accepting(port))) {
        if (child.exitCode !== null || Date.now() - started > 10_000) throw new Error(`redis-server did not start on ${port}:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = null;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    async dispose() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
