import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { connectDevice } from './helpers/mqtt-device.js';
import { type AckedReading, expectAckedStoredOnce, publishUntilRefused } from './helpers/qos1-until-refused.js';
import { smallDisk, unmountSmallDisks } from './helpers/small-disk.js';
import { DUST_DEVICES, eventually, freshDatabase, LANE_THREADS, type TestDevice } from './helpers/test-gateway.js';

/**
 * Issue 13: an unusable data directory — read-only, or on a full disk — stops the start with `store_unavailable`
 * naming the directory; a disk that fills while the gateway runs stops the acknowledgements and the gateway, and
 * after the operator frees space nothing acknowledged is lost. Real gateway processes; the full disk is a small
 * tmpfs (so the test needs root with CAP_SYS_ADMIN); root ignores file modes, so the read-only case runs the
 * gateway as `nobody`.
 */

/** A port nothing listens on: InfluxDB away, so every reading stays in the spool and the store grows. */
const DEAD_INFLUX = 'http://127.0.0.1:9';
const NOBODY = 65534;
const device = DUST_DEVICES[0] as TestDevice;

/** Spawn options under which file modes apply: the test's own user, or `nobody` when the test runs as root. */
const unprivileged = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};

/** Fills the file system of `dir` to the last block with `dir/filler`; returns its path (delete it to free the space). */
function fillDisk(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  try {
    for (const size of [1 << 20, 4_096, 1]) {
      const chunk = Buffer.alloc(size, 0x55);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Starts the gateway expecting it to refuse; returns what it said (the exit code and its stderr). */
async function refusedStart(configPath: string, options: Parameters<typeof startGatewayProcess>[1] = {}): Promise<string> {
  let started: GatewayProcess;
  try {
    started = await startGatewayProcess(configPath, options);
  } catch (error) {
    return (error as Error).message;
  }
  await started.stop();
  throw new Error('the gateway started on an unusable data directory');
}

afterAll(unmountSmallDisks);

let running: GatewayProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});
const lines = (influxUrl: string, database: string, thread: (typeof LANE_THREADS)[number] = 'worker') => [
  'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
  `influx: { mode: url, url: ${JSON.stringify(influxUrl)}, database: ${database}, flushInterval: 100ms }`,
  `lane: { thread: ${thread} }`,
];

// The main thread opens the store before the lane starts, in either thread mode: the start-up cases run once.
describe('an unusable data directory at start-up (issue 13)', () => {
  it('read-only: the start fails with store_unavailable naming the directory (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-store-ro-'));
    const config = await writeGatewayConfig(dir, [device], lines(DEAD_INFLUX, freshDatabase()));
    // The control: the same user starts the gateway on the directory while it may write it (so the code and the
    // configuration are readable to it), and leaves a store behind.
    chmodSync(dir, 0o777);
    running = await startGatewayProcess(config, unprivileged);
    await running.stop();
    running = null;

    chmodSync(dir, 0o555);
    try {
      const said = await refusedStart(config, unprivileged);
      expect(said).toMatch(/exited \(2\) before logging "gateway started"/);
      expect(said).toContain(`store_unavailable: data directory ${dir} is not usable`);
      expect(said).toMatch(/EACCES|permission denied/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('read-only file system (even for root): store_unavailable naming the directory', async () => {
    const dir = smallDisk(8 << 20);
    const config = await writeGatewayConfig(dir, [device], lines(DEAD_INFLUX, freshDatabase()));
    running = await startGatewayProcess(config);
    await running.stop();
    running = null;
    const remounted = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
    expect(remounted.status, `mount -o remount,ro: ${remounted.stderr}`).toBe(0);
    try {
      const said = await refusedStart(config);
      expect(said).toMatch(/exited \(2\)/);
      expect(said).toContain(`store_unavailable: data directory ${dir} is not usable`);
      expect(said).toMatch(/EROFS|read-only file system/);
    } finally {
      spawnSync('mount', ['-o', 'remount,rw', dir]);
    }
  });

  it('full disk at start-up: no store can be created, nor an existing one written — store_unavailable naming the directory', async () => {
    const dir = smallDisk(2 << 20);
    const config = await writeGatewayConfig(dir, [device], lines(DEAD_INFLUX, freshDatabase()));
    const filler = fillDisk(dir);
    const fresh = await refusedStart(config);
    expect(fresh).toMatch(/exited \(2\)/);
    expect(fresh).toContain(`store_unavailable: the store ${join(dir, 'gateway.db')}`);
    expect(fresh).toMatch(/database or disk is full/);
    expect(fresh).toContain(`the file system of ${dir} is full (no space left`);

    // A store that exists (created while there was room, closed cleanly) on a disk that is full since: it can be
    // opened and read, but the probe commit at open finds no room for the write-ahead log.
    rmSync(filler);
    for (const file of ['gateway.db', 'gateway.db-wal', 'gateway.db-shm']) rmSync(join(dir, file), { force: true });
    running = await startGatewayProcess(config);
    await running.stop();
    running = null;
    fillDisk(dir);
    const existing = await refusedStart(config);
    expect(existing).toMatch(/exited \(2\)/);
    expect(existing).toContain(`store_unavailable: the store ${join(dir, 'gateway.db')}`);
    expect(existing).toContain(`the file system of ${dir} is full (no space left`);
  });
});

describe.each(LANE_THREADS)('a data directory that fills while running (issue 13) — lane.thread: %s', (thread) => {
  it('a disk that fills while running: the acknowledgements stop, the gateway exits; after freeing space every acknowledged reading is stored once', async () => {
    const dir = smallDisk(24 << 20);
    const database = freshDatabase();
    // no reserve for the spool to keep: the disk fills at once, by something else, and the gateway stops
    const noReserve = 'store: { diskReserve: 0 }';
    running = await startGatewayProcess(await writeGatewayConfig(dir, [device], [...lines(DEAD_INFLUX, database, thread), noReserve]));
    const gateway = running;
    const client = await connectDevice(gateway.mqttUrls[0] as string, {
      clientId: device.id,
      username: device.id,
      password: device.secret,
    });
    const acked: AckedReading[] = [];
    const load = publishUntilRefused(client, device, { acked });
    await eventually('500 readings acknowledged', () => (acked.length >= 500 ? true : undefined), 30_000);
    const filler = fillDisk(dir);
    await load;
    client.end(true);
    // the load ends when the gateway stops answering (or after 50,000 publishes if it never does: then this fails)
    const exited = await Promise.race([gateway.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 30_000))]);
    // its stderr in the message: an abort (SIGABRT, seen once in a loaded CI run) says there why
    expect(exited, `the gateway exits once its disk is full; stderr:\n${gateway.stderr().slice(-3_000)}`).toBe(1);
    const fatal = gateway.logs.find((entry) => entry.level === 60);
    expect(JSON.stringify(fatal)).toMatch(/database or disk is full|disk I\/O error/);
    const stop = gateway.logs.find((entry) => entry.msg === 'gateway cannot continue') as { err?: { code?: string } } | undefined;
    expect(stop?.err?.code, 'the catalogue code the gateway stops with').toBe('store_unavailable');

    // The operator frees the disk (and InfluxDB is back): nothing acknowledged was lost, nothing stored twice.
    rmSync(filler);
    running = await startGatewayProcess(
      await writeGatewayConfig(dir, [device], [...lines(inject('influxUrl'), database, thread), noReserve]),
    );
    await expectAckedStoredOnce(database, device.id, acked);
  }, 180_000);
});
