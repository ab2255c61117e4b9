import { Redis } from 'ioredis';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { redactedUrl } from '../observability/redacted-url.js';

/** What a node says about itself in Redis: where it takes MQTT and HTTP, and since when it runs. */
export interface MemberInfo {
  nodeId: string;
  mqtt: string[];
  http: string;
  startedAt: string;
}

/** A live node as this one last saw it. */
export interface Member extends MemberInfo {
  /** Its membership lapses then unless it renews it (ms since the epoch, Redis's clock). */
  expiresAt: number;
}

export interface MembershipSettings {
  redisUrl: string;
  keyPrefix: string;
  heartbeat: number;
  memberTimeout: number;
  self: MemberInfo;
  /** This process's life as a node (`nodeId@startedAt`): the shared store's fences name it, and when it was last seen. */
  incarnation: string;
  log: Logger;
  now(): number;
}

/**
 * This node's membership in the cluster: renewed every heartbeat, with the live members read back in the same
 * round trip. Times are Redis's own clock (TIME, in the script), so the nodes' clocks need not agree.
 */
export interface Membership {
  /** Registers this node and starts the heartbeat; resolves after the first one (or rejects: Redis unreachable). */
  start(): Promise<void>;
  /** The live members, this node included, by node id; as of the last heartbeat that reached Redis. */
  members(): Member[];
  /** The live node ids, sorted. */
  nodeIds(): string[];
  /** Null while this node's membership is current; otherwise why not (Redis unreachable, heartbeat late). */
  trouble(): string | null;
  /** Called with the new live node ids whenever the set changes (a node joined, left or lapsed). */
  onChange(listener: (nodeIds: string[]) => void): void;
  /** Leaves the cluster (its sites move at once) and stops the heartbeat. */
  close(): Promise<void>;
}

/** The hash of when each node incarnation last renewed its membership (ms, Redis's clock), read by a site's next owner. */
export const seenKeyOf = (keyPrefix: string): string => `${keyPrefix}member-seen`;

/**
 * KEYS: the members' sorted set (score: expiry, ms), their info hash, the last-seen hash. ARGV: node id, timeout (ms),
 * info (JSON), incarnation. Renews this node, forgets lapsed ones, returns [now, id1, info1, expiry1, id2, …].
 */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[4], now)
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(lapsed) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
local out = { tostring(now) }
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  table.insert(out, live[i])
  table.insert(out, redis.call('HGET', KEYS[2], live[i]) or '{}')
  table.insert(out, live[i + 1])
end
return out
`;

export function createMembership(settings: MembershipSettings): Membership {
  const { log } = settings;
  // Fails fast while Redis is away (no offline queue, one try): a heartbeat that cannot reach Redis is late, not queued.
  const redis = new Redis(settings.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 1_000),
  });
  redis.on('error', () => {}); // reported by `trouble()` and the heartbeat's failure log
  const membersKey = `${settings.keyPrefix}members`;
  const infoKey = `${settings.keyPrefix}member-info`;
  const info = JSON.stringify(settings.self);
  const listeners: Array<(nodeIds: string[]) => void> = [];
  let members: Member[] = [];
  let lastBeat = 0;
  let lastError: string | null = 'not started';
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const ids = (list: Member[]) => list.map((member) => member.nodeId).sort();

  const beat = async (): Promise<void> => {
    const reply = (await redis.eval(
      HEARTBEAT,
      3,
      membersKey,
      infoKey,
      seenKeyOf(settings.keyPrefix),
      settings.self.nodeId,
      String(settings.memberTimeout),
      info,
      settings.incarnation,
    )) as string[];
    const live: Member[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      const parsed = JSON.parse(reply[i + 1] as string) as Partial<MemberInfo>;
      live.push({
        nodeId: reply[i] as string,
        mqtt: Array.isArray(parsed.mqtt) ? parsed.mqtt : [],
        http: typeof parsed.http === 'string' ? parsed.http : '',
        startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : '',
        expiresAt: Number(reply[i + 2]),
      });
    }
    const before = ids(members).join(',');
    members = live;
    lastBeat = settings.now();
    if (lastError !== null && lastError !== 'not started') log.info('cluster heartbeat restored');
    lastError = null;
    const after = ids(live);
    if (after.join(',') !== before) {
      log.info({ nodes: after }, 'cluster members changed');
      for (const listener of listeners) listener(after);
    }
  };

  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => {
      beat()
        .catch((error: Error) => {
          if (lastError === null) log.warn({ err: error }, 'cluster heartbeat failed');
          lastError = error.message;
        })
        .finally(schedule);
    }, settings.heartbeat);
    timer.unref();
  };

  return {
    async start() {
      await redis.connect();
      await beat();
      schedule();
    },
    members: () => [...members],
    nodeIds: () => ids(members),
    trouble() {
      if (closed) return 'left the cluster';
      const late = settings.now() - lastBeat;
      if (lastError !== null) return `no heartbeat for ${late} ms: redis ${lastError}`;
      if (late > settings.memberTimeout) return `no heartbeat for ${late} ms`;
      return null;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      try {
        await redis.multi().zrem(membersKey, settings.self.nodeId).hdel(infoKey, settings.self.nodeId).exec();
      } catch (error) {
        log.warn({ err: error }, 'cluster leave failed');
      }
      redis.disconnect();
    },
  };
}

/** Start-up check: Redis answers PING within `timeoutMs`; otherwise `cluster_unavailable` with what went wrong. */
export async function reachRedis(redisUrl: string, timeoutMs = 5_000): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new GatewayError(
      'cluster_unavailable',
      `redis at ${redactedUrl(redisUrl)} is unreachable: ${(error as Error).message}`,
      undefined,
      {
        cause: error,
      },
    );
  } finally {
    redis.disconnect();
  }
}
