import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharedDeviceStatus, type SharedDeviceStatus } from '../../gateway/src/cluster/shared-device-status.js';
import { createDeviceStatusBook } from '../../gateway/src/devices/device-status.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';

describe("devices' status across the nodes of a cluster, on a real redis-server", () => {
  let redis: PrivateRedis;
  const opened: SharedDeviceStatus[] = [];
  let live: string[] = [];
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    for (const node of opened) node.close();
    await redis?.dispose();
  });
  const node = async (nodeId: string, prefix: string): Promise<SharedDeviceStatus> => {
    const status = createSharedDeviceStatus({
      local: createDeviceStatusBook(),
      redisUrl: redis.url,
      keyPrefix: prefix,
      nodeId,
      liveNodes: () => live,
      publishEvery: 50,
      log: createLogger('silent'),
    });
    await status.start();
    opened.push(status);
    return status;
  };

  it("a node restarted under its id (kill -9) counts none of its previous run's connections: a device gone everywhere is offline on every node", async () => {
    live = ['node-a', 'node-b'];
    await node('node-a', 'restart:');
    const a = opened.at(-1) as SharedDeviceStatus;
    const b = await node('node-b', 'restart:');
    a.connected('dc-01', 1_000);
    await expect.poll(() => b.get('dc-01').online).toBe(true);
    // node-a dies without a word; the device reconnects to node-b; node-a comes back under the same id
    live = ['node-b'];
    b.connected('dc-01', 2_000);
    live = ['node-a', 'node-b'];
    const again = await node('node-a', 'restart:');
    // then the plant's power goes: the device's connection to node-b closes
    b.disconnected('dc-01');
    await expect.poll(() => again.get('dc-01').online).toBe(false);
    expect(b.get('dc-01')).toMatchObject({ online: false, connections: 0 });
    live = ['node-a', 'node-b', 'node-c'];
    const c = await node('node-c', 'restart:');
    expect(c.get('dc-01')).toMatchObject({ online: false, connections: 0 });
  });

  it('reads the other nodes again when its feed reconnects: a disconnection published meanwhile is not lost', async () => {
    live = ['node-x', 'node-y'];
    const x = await node('node-x', 'blip:');
    const y = await node('node-y', 'blip:');
    x.connected('dc-02', 1_000);
    await expect.poll(() => y.get('dc-02').online).toBe(true);
    const direct = new Redis(redis.url);
    await direct.client('KILL', 'TYPE', 'pubsub'); // every feed connection drops
    x.disconnected('dc-02');
    await expect.poll(() => y.get('dc-02').online, { timeout: 10_000 }).toBe(false);
    direct.disconnect();
  });
});
