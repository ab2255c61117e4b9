import { Redis } from 'ioredis';
import type { AuditEntry, AuditLog, NewAuditEntry } from '../audit/audit-log.js';
import type { Logger } from '../observability/logger.js';

export interface SharedAuditDeps {
  local: AuditLog;
  redisUrl: string;
  keyPrefix: string;
  nodeId: string;
  /** Entries the shared stream keeps (the oldest go; each node's own log keeps them for `store.audit.retention`). */
  maxEntries: number;
  log: Logger;
}

/** Entries waiting to be shared while Redis is away, at most (the oldest beyond are not shared: logged). */
const MAX_UNSHARED = 10_000;
/** How often what waits to be shared is tried again. */
const RESHARE_EVERY_MS = 1_000;

export interface SharedAudit extends AuditLog {
  /** Starts copying the other nodes' entries into this node's log, from where it stopped (all, the first time). */
  start(): Promise<void>;
  close(): void;
}

/**
 * The audit log of a cluster: each node records in its own log and appends to a Redis stream; each node copies the
 * other nodes' entries from the stream into its log, so `GET /api/audit` on any node shows what was done on all of
 * them. Where each node stopped reading is kept in Redis: a node that was down catches up, a new node reads it all.
 */
export function createSharedAudit(deps: SharedAuditDeps): SharedAudit {
  const { local } = deps;
  const streamKey = `${deps.keyPrefix}audit`;
  const readKey = `${deps.keyPrefix}audit-read`;
  // Appends queue while Redis connects (entries are recorded from start-up on).
  const writer = new Redis(deps.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const reader = new Redis(deps.redisUrl, { lazyConnect: true });
  writer.on('error', () => {});
  reader.on('error', () => {});
  let closed = false;
  /** Recorded here, not yet in the stream (Redis was away), oldest first: shared in order once it is back. */
  const unshared: AuditEntry[] = [];
  let sharing = false;
  const append = (entry: AuditEntry) =>
    writer.xadd(streamKey, 'MAXLEN', '~', String(deps.maxEntries), '*', 'node', deps.nodeId, 'entry', JSON.stringify(entry));
  /** Shares what waits, in order, until one fails (it stays first, tried again later). */
  const share = async (): Promise<void> => {
    if (sharing) return;
    sharing = true;
    try {
      while (unshared.length > 0 && !closed) {
        await append(unshared[0] as AuditEntry);
        unshared.shift();
      }
    } catch (error) {
      deps.log.warn({ err: error, waiting: unshared.length }, 'audit entries not shared yet');
    } finally {
      sharing = false;
    }
  };
  const retry = setInterval(() => void share(), RESHARE_EVERY_MS);
  retry.unref();

  const copy = async (): Promise<void> => {
    let last = (await reader.hget(readKey, deps.nodeId)) ?? '0';
    while (!closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await reader.xread('COUNT', 500, 'BLOCK', 1_000, 'STREAMS', streamKey, last)) as typeof reply;
      } catch (error) {
        if (closed) return;
        deps.log.warn({ err: error }, 'audit stream not read');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        continue;
      }
      const messages = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of messages) {
        last = id;
        const node = fields[fields.indexOf('node') + 1];
        const text = fields[fields.indexOf('entry') + 1];
        if (node === deps.nodeId || text === undefined) continue;
        try {
          const entry = JSON.parse(text) as AuditEntry;
          const { id: _, at, ...rest } = entry;
          local.record({ ...rest, at: Date.parse(at) });
        } catch (error) {
          deps.log.warn({ err: error, id }, 'audit stream entry unreadable');
        }
      }
      if (messages.length > 0) await reader.hset(readKey, deps.nodeId, last).catch(() => undefined);
    }
  };

  return {
    record(entry: NewAuditEntry) {
      const recorded = local.record(entry);
      if (unshared.length >= MAX_UNSHARED) {
        const dropped = unshared.shift() as AuditEntry;
        deps.log.error({ id: dropped.id, action: dropped.action }, 'audit entry not shared: too many waiting for Redis');
      }
      // behind what waits already: the other nodes get this node's entries in the order they were recorded
      unshared.push(recorded);
      void share();
      return recorded;
    },
    query: (filter) => local.query(filter),
    prune: (before) => local.prune(before),
    async start() {
      await Promise.all([writer.status === 'wait' ? writer.connect() : undefined, reader.connect()]);
      void copy().catch((error: Error) => deps.log.error({ err: error }, 'audit stream copy stopped'));
    },
    close() {
      closed = true;
      clearInterval(retry);
      writer.disconnect();
      reader.disconnect();
    },
  };
}
