import { Redis } from 'ioredis';
import type { DeviceStatus, DeviceStatusBook } from '../devices/device-status.js';
import type { Logger } from '../observability/logger.js';
import { createOutageLog } from '../observability/outage-log.js';
import { feedCatchUp, heldFeed } from './feed-catch-up.js';

/**
 * A device as the whole cluster sees it, from what each node saw of it: online while a connection is open on any
 * live node (a dead node's connections are gone), last seen and last values from the node that saw the latest,
 * rejections added up.
 */
export function mergeDeviceStatus(mine: DeviceStatus, others: ReadonlyArray<{ status: DeviceStatus; live: boolean }>): DeviceStatus {
  const merged: DeviceStatus = structuredClone(mine);
  for (const { status, live } of others) {
    if (live && status.connections > 0) {
      merged.connections += status.connections;
      merged.online = true;
      if (merged.connectedAt === null || (status.connectedAt !== null && status.connectedAt > merged.connectedAt)) {
        merged.connectedAt = status.connectedAt;
      }
    }
    if (status.lastSeen !== null && (merged.lastSeen === null || status.lastSeen > merged.lastSeen)) {
      merged.lastSeen = status.lastSeen;
      if (status.reported !== null) merged.reported = status.reported;
    }
    if (status.lastReadingTs !== null && (merged.lastReadingTs === null || status.lastReadingTs > merged.lastReadingTs)) {
      merged.lastReadingTs = status.lastReadingTs;
      merged.lastValues = { ...merged.lastValues, ...status.lastValues };
    }
    for (const [reason, count] of Object.entries(status.rejections) as Array<[keyof DeviceStatus['rejections'], number]>) {
      merged.rejections[reason] = (merged.rejections[reason] ?? 0) + count;
    }
  }
  return merged;
}

export interface SharedDeviceStatusDeps {
  local: DeviceStatusBook;
  redisUrl: string;
  keyPrefix: string;
  nodeId: string;
  /** The live node ids (this one included). */
  liveNodes(): readonly string[];
  /** How often what changed here is published (ms). */
  publishEvery: number;
  log: Logger;
}

export interface SharedDeviceStatus extends DeviceStatusBook {
  /** Subscribes to the other nodes' changes and reads what they last wrote. */
  start(): Promise<void>;
  close(): void;
}

type Feed = { node: string; statuses: Array<[string, DeviceStatus]> };

/**
 * Device status across a cluster: each node keeps what it sees (its connections, the readings it judged) and
 * writes the devices that changed to Redis (a hash per node, read by a node that starts) and to a feed the others
 * follow; `get` merges every node's view (`mergeDeviceStatus`). A device connected to one node is online on all.
 */
export function createSharedDeviceStatus(deps: SharedDeviceStatusDeps): SharedDeviceStatus {
  const { local } = deps;
  const writer = new Redis(deps.redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const subscriber = new Redis(deps.redisUrl, { lazyConnect: true });
  writer.on('error', () => {});
  subscriber.on('error', () => {});
  const feedChannel = `${deps.keyPrefix}device-feed`;
  const hashOf = (node: string) => `${deps.keyPrefix}device-status:${node}`;
  const others = new Map<string, Map<string, DeviceStatus>>();
  let dirty = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  /** Tried every half second while Redis is away: logged once per outage. */
  const sharing = createOutageLog(deps.log, { failed: 'device status not shared', restored: 'device status shared again' });

  const publish = async (): Promise<void> => {
    if (dirty.size === 0) return;
    const ids = dirty;
    dirty = new Set();
    const statuses = [...ids].map((id) => [id, local.get(id)] as [string, DeviceStatus]);
    try {
      await writer
        .multi()
        .hset(hashOf(deps.nodeId), ...statuses.flatMap(([id, status]) => [id, JSON.stringify(status)]))
        .publish(feedChannel, JSON.stringify({ node: deps.nodeId, statuses } satisfies Feed))
        .exec();
      sharing.succeeded({ devices: ids.size });
    } catch (error) {
      // published with the next change once Redis is back
      for (const id of ids) dirty.add(id);
      sharing.failed(error, { devices: ids.size });
    }
  };
  const changed = (id: string): void => {
    dirty.add(id);
  };
  const keep = (node: string, statuses: ReadonlyArray<[string, DeviceStatus]>): void => {
    if (node === deps.nodeId) return;
    let seen = others.get(node);
    if (!seen) {
      seen = new Map();
      others.set(node, seen);
    }
    for (const [id, status] of statuses) seen.set(id, status);
  };

  /** What the other live nodes last wrote, read from their hashes (at start, and when the feed was not heard for a while). */
  const readOthers = async (): Promise<void> => {
    for (const node of deps.liveNodes()) {
      if (node === deps.nodeId) continue;
      const all = await writer.hgetall(hashOf(node));
      keep(
        node,
        Object.entries(all).map(([id, text]) => [id, JSON.parse(text) as DeviceStatus]),
      );
    }
  };

  /**
   * This node's hash from before a restart (the same node id) still counts the connections of the process that died:
   * they are gone with it. Written and told to the others as closed (what it saw last is kept), before this process
   * counts any of its own.
   */
  const closePreviousConnections = async (): Promise<void> => {
    const before = await writer.hgetall(hashOf(deps.nodeId));
    const closed = Object.entries(before)
      .map(([id, text]) => [id, JSON.parse(text) as DeviceStatus] as [string, DeviceStatus])
      .filter(([, status]) => status.connections > 0 || status.online)
      .map(([id, status]) => [id, { ...status, online: false, connections: 0, connectedAt: null }] as [string, DeviceStatus]);
    if (closed.length === 0) return;
    await writer
      .multi()
      .hset(hashOf(deps.nodeId), ...closed.flatMap(([id, status]) => [id, JSON.stringify(status)]))
      .publish(feedChannel, JSON.stringify({ node: deps.nodeId, statuses: closed } satisfies Feed))
      .exec();
    deps.log.info({ devices: closed.length }, "device connections of this node's previous run closed");
  };

  let started = false;
  let closing = false;
  /** A feed message, applied (`feed` holds it while the hashes are read again: feed-catch-up.ts). */
  const apply = (text: string): void => {
    try {
      const message = JSON.parse(text) as Feed;
      keep(message.node, message.statuses);
    } catch (error) {
      deps.log.warn({ err: error }, 'device feed message unreadable');
    }
  };
  const feed = heldFeed(apply);
  // after a Redis restart the writer's connection may come back after the feed's: tried until it works
  const reread = feedCatchUp({
    read: readOthers,
    feed,
    firstWaitMs: 500,
    closed: () => closing,
    failed: (error) => deps.log.warn({ err: error }, 'device status not read again: trying again'),
  });
  return {
    async start() {
      await Promise.all([writer.connect(), subscriber.connect()]);
      subscriber.on('message', (_channel: string, text: string) => feed.receive(text));
      subscriber.on('ready', () => {
        if (started) void reread();
      });
      await subscriber.subscribe(feedChannel);
      await closePreviousConnections();
      await readOthers();
      started = true;
      timer = setInterval(() => void publish(), deps.publishEvery);
      timer.unref();
    },
    get(id) {
      const live = new Set(deps.liveNodes());
      const seen: Array<{ status: DeviceStatus; live: boolean }> = [];
      for (const [node, statuses] of others) {
        const status = statuses.get(id);
        if (status) seen.push({ status, live: live.has(node) });
      }
      return mergeDeviceStatus(local.get(id), seen);
    },
    connected(id, at) {
      local.connected(id, at);
      changed(id);
    },
    disconnected(id) {
      local.disconnected(id);
      changed(id);
    },
    reported(id, status, at) {
      local.reported(id, status, at);
      changed(id);
    },
    readingStored(id, ts, metrics, at) {
      local.readingStored(id, ts, metrics, at);
      changed(id);
    },
    rejected(id, reason) {
      local.rejected(id, reason);
      changed(id);
    },
    close() {
      closing = true;
      if (timer) clearInterval(timer);
      void publish().finally(() => {
        writer.disconnect();
        subscriber.disconnect();
      });
    },
  };
}
