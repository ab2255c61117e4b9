import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmMirror } from '../../gateway/src/cluster/alarm-mirror.js';
import { type AlarmFeedMessage, alarmFeedOf, closedAlarmsKeysOf, inhibitionKeysOf } from '../../gateway/src/cluster/site-replica.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { createAlarmBook } from '../../rules/src/index.js';
import { toChange } from '../../rules/test-support/inhibition-steps.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';

const PREFIX = 'mirror-test:';

describe("a node's mirror of the sites other nodes judge", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('an inhibitor ended while the node starts is not shown as holding: a feed message is applied after the read', async () => {
    // plant-9's owner wrote a silent device's inhibitor (its row: place and JSON, as the site's write script keeps it)
    const book = createAlarmBook({ newAlarmId: () => 'alm_1' });
    book.apply(toChange({ site: 'plant-9', device: 'd1', rule: 'device_silent', status: 'true', metric: 'x' }, 1_000));
    const [inhibitor] = book.inhibition.inhibitors();
    const key = inhibitor?.key as string;
    expect(key).toBe('plant-9/d1/device_silent');
    const direct = new Redis(redis.url);
    const inhibitorsKey = inhibitionKeysOf(PREFIX, 'plant-9')[0];
    await direct.hset(inhibitorsKey, key, `1 ${JSON.stringify(inhibitor)}`);

    // The device comes back while the node starts: its owner's write deletes the row and tells the feed. Here the read
    // of the rows ran first (they still hold it), and the feed's message reaches the node before the read's answer.
    const reader = new Redis(redis.url);
    const read = reader.hgetall.bind(reader);
    reader.hgetall = (async (hash: string) => {
      const rows = await read(hash);
      if (hash === inhibitorsKey) {
        const ended: AlarmFeedMessage = {
          from: 'gw-a@1',
          alarms: [],
          events: [],
          inhibition: { site: 'plant-9', inhibitors: { gone: [key], set: [] }, held: { gone: [], set: [] } },
        };
        await direct.publish(alarmFeedOf(PREFIX), JSON.stringify(ended));
        await new Promise((resolve) => setTimeout(resolve, 300)); // the message reaches the mirror's subscriber
      }
      return rows;
    }) as typeof reader.hgetall;

    const mirror = createAlarmMirror({
      redisUrl: redis.url,
      keyPrefix: PREFIX,
      incarnation: 'gw-b@1',
      maxClosed: 100,
      log: createLogger('silent'),
      reader,
    });
    await mirror.start(['plant-9']);
    expect(mirror.inhibition(() => true).inhibitors()).toEqual([]);
    mirror.close();
    direct.disconnect();
  });

  it('reads the sites again when its feed reconnects: what the owners wrote meanwhile is shown, nothing stays stale', async () => {
    const direct = new Redis(redis.url);
    const alarmsKey = `${PREFIX}site:plant-3:alarms`;
    const alarm = (id: string, seq: number, state: 'active' | 'cleared', resolved = false) => ({
      alarm: {
        id,
        key: `plant-3/d1/${id}`,
        seq,
        site: 'plant-3',
        device: 'd1',
        state,
        resolved,
        resolvedAt: resolved ? new Date().toISOString() : null,
      },
      history: [],
      flap: null,
    });
    /** As the owner's write does: the row, then the feed message. */
    const write = async (shared: ReturnType<typeof alarm>) => {
      await direct.hset(alarmsKey, shared.alarm.id, JSON.stringify(shared));
      const message = { from: 'gw-a@1', alarms: [shared], events: [{ id: `evt_${shared.alarm.id}_${shared.alarm.seq}`, data: shared }] };
      await direct.publish(alarmFeedOf(PREFIX), JSON.stringify(message));
    };
    await write(alarm('alm_a', 1, 'active'));
    await write(alarm('alm_b', 1, 'active'));
    await write(alarm('alm_c', 1, 'active'));
    // one resolved already, just now: a reconnect's read of the resolved ones goes on from its time
    const [closedAlarms, closedOrder] = closedAlarmsKeysOf(PREFIX);
    await direct.hset(closedAlarms, 'alm_z', JSON.stringify(alarm('alm_z', 2, 'cleared', true)));
    await direct.zadd(closedOrder, Date.now(), 'alm_z');
    const mirror = createAlarmMirror({
      redisUrl: redis.url,
      keyPrefix: PREFIX,
      incarnation: 'gw-c@1',
      maxClosed: 100,
      log: createLogger('silent'),
    });
    await mirror.start(['plant-3']);
    expect([mirror.get('alm_a')?.state, mirror.get('alm_b')?.state, mirror.get('alm_z')?.resolved]).toEqual(['active', 'active', true]);
    expect(mirror.trouble()).toBeNull();

    // the node's feed connection drops (a network blip); meanwhile the owner clears alm_a, and alm_b is resolved
    // (moved to the cluster's resolved alarms, as the owner's write does); alm_c the store loses (a Redis crash)
    await direct.client('KILL', 'TYPE', 'pubsub');
    await write(alarm('alm_a', 2, 'cleared'));
    await direct.hdel(alarmsKey, 'alm_b', 'alm_c');
    await direct.hset(closedAlarms, 'alm_b', JSON.stringify(alarm('alm_b', 3, 'cleared', true)));
    // resolved by a node whose clock runs an hour behind: found by its id all the same
    await direct.zadd(closedOrder, Date.now() - 3_600_000, 'alm_b');
    await expect.poll(() => mirror.get('alm_a')?.state, { timeout: 10_000 }).toBe('cleared');
    await expect.poll(() => mirror.trouble(), { timeout: 10_000 }).toBeNull();
    expect(mirror.get('alm_b')).toMatchObject({ resolved: true, seq: 3 });
    // not thrown away: its owner still has it (and writes it again with its next change)
    expect(mirror.get('alm_c')).toMatchObject({ state: 'active', resolved: false });
    // and the feed goes on after it
    await write(alarm('alm_a', 3, 'active'));
    await expect.poll(() => mirror.get('alm_a')?.seq).toBe(3);
    mirror.close();
    direct.disconnect();
  });

  it('a read again that fails is tried again until it succeeds; meanwhile /readyz says the list may be behind', async () => {
    const direct = new Redis(redis.url);
    const alarmsKey = `${PREFIX}site:plant-4:alarms`;
    const shared = (seq: number, state: string) => ({
      alarm: { id: 'alm_x', key: 'plant-4/d1/x', seq, site: 'plant-4', device: 'd1', state, resolved: false },
      history: [],
      flap: null,
    });
    await direct.hset(alarmsKey, 'alm_x', JSON.stringify(shared(1, 'active')));
    const reader = new Redis(redis.url);
    let failing = 0;
    const read = reader.zrangebyscore.bind(reader);
    reader.zrangebyscore = ((...args: Parameters<typeof read>) => {
      if (failing > 0) {
        failing -= 1;
        return Promise.reject(new Error('Command timed out'));
      }
      return read(...args);
    }) as typeof reader.zrangebyscore;
    const mirror = createAlarmMirror({
      redisUrl: redis.url,
      keyPrefix: PREFIX,
      incarnation: 'gw-d@1',
      maxClosed: 100,
      log: createLogger('silent'),
      reader,
    });
    await mirror.start(['plant-4']);
    failing = 1; // the first read after the reconnect fails (Redis half up)
    await direct.client('KILL', 'TYPE', 'pubsub');
    await direct.hset(alarmsKey, 'alm_x', JSON.stringify(shared(2, 'cleared')));
    await expect.poll(() => mirror.trouble(), { timeout: 5_000 }).toMatch(/not read again yet/);
    // tried again a second later: read, and ready
    await expect.poll(() => mirror.get('alm_x')?.state, { timeout: 10_000 }).toBe('cleared');
    expect(mirror.trouble()).toBeNull();
    mirror.close();
    direct.disconnect();
  });
});
