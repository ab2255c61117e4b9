import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmMirror } from '../../gateway/src/cluster/alarm-mirror.js';
import { type AlarmFeedMessage, alarmFeedOf, inhibitionKeysOf } from '../../gateway/src/cluster/site-replica.js';
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
});
