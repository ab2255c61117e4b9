import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aedes } from 'aedes';
import { describe, expect, it } from 'vitest';
import { generateLoadDevices } from './load-devices.js';
import { startFleet } from './start-fleet.js';

describe('a real-time fleet', () => {
  it('retries a refused connection later and later, each device at its own time, not in lock-step', async () => {
    // a gateway that refuses every CONNECT (as one still loading its registry would), noting who tried when
    const attempts = new Map<string, number[]>();
    const broker = await Aedes.createBroker({
      authenticate: (client, _username, _password, done) => {
        attempts.set(client.id, [...(attempts.get(client.id) ?? []), Date.now()]);
        done(Object.assign(new Error('not yet'), { returnCode: 5 }), false);
      },
    });
    const server = createServer((socket) => broker.handle(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const devices = generateLoadDevices({ profile: 'dust-collector', count: 20 });
    const fleet = await startFleet({
      url: `mqtt://127.0.0.1:${port}`,
      devices,
      secretOf: (id) => `load-${id}`,
      connectSpreadMs: 0,
      backoff: { minMs: 200, maxMs: 3_200 },
    });
    try {
      await sleep(2_600);
    } finally {
      await fleet.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
    expect(attempts.size).toBe(20);
    const starts = [...attempts.values()].map((times) => times[0] as number);
    for (const times of attempts.values()) {
      // waits of 200–400, 400–800, 800–1600 ms: 3 or 4 attempts in 2.6 s, each wait longer than the one before
      expect(times.length).toBeGreaterThanOrEqual(3);
      expect(times.length).toBeLessThanOrEqual(5);
      const gaps = times.slice(1).map((at, i) => at - (times[i] as number));
      for (let i = 1; i < gaps.length; i += 1) expect(gaps[i]).toBeGreaterThanOrEqual((gaps[i - 1] as number) - 20);
    }
    // all 20 tried first within a few ms of each other; their second tries spread over most of 200–400 ms
    const seconds = [...attempts.values()].map((times, i) => (times[1] as number) - (starts[i] as number));
    expect(Math.max(...seconds) - Math.min(...seconds)).toBeGreaterThan(80);
  }, 15_000);
});
