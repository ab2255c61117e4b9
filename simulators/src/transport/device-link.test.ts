import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { statusTopic } from '../run/action.js';
import { type DeviceLink, openDeviceLink } from './device-link.js';

/** A real MQTT broker on a free loopback port, whose connections the test can cut and whose listener it can stop. */
async function startBroker() {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const connectedAt: number[] = [];
  broker.on('client', () => connectedAt.push(Date.now()));
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    connectedAt,
    /** Every connection ends without DISCONNECT, as when the gateway's process restarts: the broker sends the Last Wills. */
    cutAll() {
      for (const socket of sockets) socket.destroy();
    },
    /** Down: nothing listens (connection refused). */
    async stopListening() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async listenAgain() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}

/** The retained status of each device as a newcomer to the broker reads it. */
async function retainedStatus(url: string): Promise<Map<string, string>> {
  const observer = await mqtt.connectAsync(url, { clientId: `observer-${Math.random()}`, reconnectPeriod: 0 });
  const seen = new Map<string, string>();
  observer.on('message', (topic, payload, packet) => {
    if (packet.retain) seen.set(topic, payload.toString());
  });
  await observer.subscribeAsync('sites/+/devices/+/status', { qos: 1 });
  await sleep(100);
  await observer.endAsync();
  return seen;
}

const until = async (what: () => boolean, ms: number): Promise<void> => {
  for (const stop = Date.now() + ms; !what() && Date.now() < stop; ) await sleep(20);
};

describe('a device link', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function fleet(url: string, count: number, reconnect: { minMs: number; maxMs: number }, onReconnect?: () => void) {
    const links: DeviceLink[] = [];
    for (let i = 0; i < count; i += 1) {
      const device = `dc-${i}`;
      const link = await openDeviceLink({
        url,
        site: 'plant-a',
        device,
        secret: 's',
        qos: 1,
        reconnect,
        ...(onReconnect ? { onReconnect } : {}),
      });
      // the device's first announcement (deviceActions sends it right after connecting)
      await link.publish(statusTopic('plant-a', device), 'online', true);
      links.push(link);
    }
    cleanup.push(async () => {
      await Promise.all(links.map((link) => link.drop()));
    });
    return links;
  }

  it('announces a retained online again when it reconnects after an unplanned drop, replacing its Last Will', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const [link] = await fleet(broker.url, 1, { minMs: 50, maxMs: 200 });
    broker.cutAll();
    await until(() => broker.connectedAt.length >= 2 && (link?.connected ?? false), 3_000);
    expect(link?.connected).toBe(true);
    await until(() => false, 200);
    expect(await retainedStatus(broker.url)).toEqual(new Map([['sites/plant-a/devices/dc-0/status', 'online']]));
  });

  it('comes back spread out when the broker drops the whole fleet at once, not in lock-step', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const count = 20;
    await fleet(broker.url, count, { minMs: 400, maxMs: 5_000 });
    broker.connectedAt.length = 0;
    broker.cutAll();
    await until(() => broker.connectedAt.length >= count, 5_000);
    expect(broker.connectedAt).toHaveLength(count);
    const spread = Math.max(...broker.connectedAt) - Math.min(...broker.connectedAt);
    // first waits are drawn from 400–800 ms: 20 devices spread over most of it
    expect(spread).toBeGreaterThan(150);
    const status = await retainedStatus(broker.url);
    expect([...status.values()]).toEqual(Array.from({ length: count }, () => 'online'));
  });

  it('waits longer after each refused attempt, up to its bound, and announces online when the broker is back', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const attempts: number[] = [];
    const [link] = await fleet(broker.url, 1, { minMs: 40, maxMs: 320 }, () => attempts.push(Date.now()));
    await broker.stopListening();
    await sleep(2_000);
    await broker.listenAgain();
    await until(() => link?.connected ?? false, 2_000);
    expect(link?.connected).toBe(true);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] as number));
    // 40–80, 80–160, 160–320 ms, then 160–320 ms: ~9 attempts in 2 s where a fixed 40 ms would make 50
    expect(attempts.length).toBeGreaterThan(5);
    expect(attempts.length).toBeLessThan(16);
    expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
    expect(Math.max(...gaps)).toBeLessThan(320 + 150);
    await until(() => false, 200);
    expect(await retainedStatus(broker.url)).toEqual(new Map([['sites/plant-a/devices/dc-0/status', 'online']]));
  }, 10_000);
});
