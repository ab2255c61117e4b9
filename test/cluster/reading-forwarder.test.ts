import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ShelfAction, SITE_OWNER_SILENT, SITE_OWNER_UNAVAILABLE } from '../../gateway/src/alarms/shelf-service.js';
import { createReadingForwarder } from '../../gateway/src/cluster/reading-forwarder.js';
import { createLogger } from '../../gateway/src/observability/logger.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';

const PREFIX = 'forward-test:';
const window: ShelfAction = {
  kind: 'declareWindow',
  where: { site: 'site-a' },
  reason: 'dust collector overhaul',
  times: { from: Date.now(), until: Date.now() + 3_600_000 },
  actor: { name: 'Li Na', role: 'dispatcher' },
} as unknown as ShelfAction;

describe('payloads and actions forwarded to the node that judges their site (real redis-server)', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis?.dispose();
  });
  /** A node's forwarder on the test's Redis: its id, how long it waits for an answer, its clock. */
  const forwarderOf = (nodeId: string, timeoutMs: number, now: () => number) =>
    createReadingForwarder({
      counted: () => undefined,
      redisUrl: redis.url,
      keyPrefix: PREFIX,
      nodeId,
      timeoutMs,
      log: createLogger('silent'),
      now,
    });
  const nothingElse = {
    act: async () => ({ ok: false, error: { code: 'cluster_unavailable' } }) as never,
    shelve: async () => SITE_OWNER_UNAVAILABLE,
  };

  it('says plainly whether it may have been done: nobody to take it (try again) is not the owner silent after taking it (look first)', async () => {
    const forwarder = forwarderOf('node-b', 300, Date.now);
    await forwarder.start(() => undefined, nothingElse.act, nothingElse.shelve);
    try {
      // nobody listens on node-a's channel: not delivered, nothing was done
      const started = Date.now();
      expect(await forwarder.forwardShelfAction('node-a', window)).toEqual(SITE_OWNER_UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(250);
      // node-a takes it and answers too late (its shared store slow): it may have declared the window
      const owner = new Redis(redis.url);
      await owner.subscribe(`${PREFIX}node:node-a`);
      expect(await forwarder.forwardShelfAction('node-a', window)).toEqual(SITE_OWNER_SILENT);
      expect(SITE_OWNER_SILENT).toMatchObject({ message: expect.stringContaining('see GET /api/shelves before trying again') });
      owner.disconnect();
    } finally {
      forwarder.close();
    }
  });

  it("judges a forwarded payload as arriving at the owner's time, not the connected node's (silence on one clock)", async () => {
    const owner = forwarderOf('node-owner', 1_000, () => 1_700_000_000_000);
    const judged: Array<[string, number]> = [];
    await owner.start(
      (device, _payload, receivedAt, decided) => {
        judged.push([device, receivedAt]);
        decided({ accepted: 1 } as never);
      },
      nothingElse.act,
      nothingElse.shelve,
    );
    // the connected node's clock runs a minute behind
    const connected = forwarderOf('node-edge', 1_000, () => 1_700_000_000_000 - 60_000);
    await connected.start(
      () => undefined,
      async () => ({}) as never,
      async () => SITE_OWNER_UNAVAILABLE,
    );
    try {
      const verdict = await new Promise((resolve) =>
        connected.forward('node-owner', { id: 'dc-01' } as never, Buffer.from('{}'), 1_700_000_000_000 - 60_000, resolve),
      );
      expect(verdict).toEqual({ accepted: 1 });
      expect(judged).toEqual([['dc-01', 1_700_000_000_000]]);
    } finally {
      owner.close();
      connected.close();
    }
  });

  it('takes a request sent twice (a publish resent after a reconnect) once, and answers both with its outcome', async () => {
    const owner = forwarderOf('node-keep', 1_000, Date.now);
    let windows = 0;
    await owner.start(
      () => undefined,
      nothingElse.act,
      async () => {
        windows += 1;
        return { ok: false, code: 'cluster_unavailable', message: `window ${windows}` } as never;
      },
    );
    const direct = new Redis(redis.url);
    const answers = new Redis(redis.url);
    const heard: string[] = [];
    await answers.subscribe(`${PREFIX}node:node-asking`);
    answers.on('message', (_channel: string, text: string) => heard.push(text));
    try {
      const request = JSON.stringify({ t: 'shelf', id: 7, from: 'node-asking', action: window });
      await direct.publish(`${PREFIX}node:node-keep`, request);
      await direct.publish(`${PREFIX}node:node-keep`, request);
      await expect.poll(() => heard.length).toBe(2);
      expect(windows).toBe(1);
      expect(heard.map((text) => JSON.parse(text).outcome.message)).toEqual(['window 1', 'window 1']);
    } finally {
      owner.close();
      direct.disconnect();
      answers.disconnect();
    }
  });
});
