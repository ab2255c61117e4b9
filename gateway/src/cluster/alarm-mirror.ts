import { Redis } from 'ioredis';
import {
  type Alarm,
  type AlarmBook,
  type AlarmEvent,
  type AlarmTransition,
  createInhibition,
  type Inhibition,
  type Inhibitor,
  listAlarms,
  type Shelf,
  type SiteInhibition,
} from '../../../rules/src/index.js';
import { tellListeners } from '../alarms/alarm-listeners.js';
import type { Logger } from '../observability/logger.js';
import { feedCatchUp, heldFeed } from './feed-catch-up.js';
import {
  type AlarmFeedMessage,
  alarmFeedOf,
  closedAlarmsKeysOf,
  inhibitionKeysOf,
  type RowChanges,
  rowsInPlace,
  type SharedAlarm,
  shelvesKeyOf,
} from './site-replica.js';

/**
 * Every alarm, shelf and maintenance window of the cluster as this node last heard of it: loaded from the shared
 * store at start, then kept current by the alarm feed each owner publishes with its writes. It is what the API and
 * the live feed of a node show of the sites other nodes judge.
 */
export interface AlarmMirror {
  /** Subscribes to the feed, then loads the open alarms of these sites and the cluster's resolved ones. */
  start(sites: Iterable<string>): Promise<void>;
  get(id: string): Alarm | undefined;
  history(id: string): AlarmTransition[];
  all(): Iterable<Alarm>;
  /** Shelves and maintenance windows as their owners last wrote them (ended ones kept as resolved alarms are). */
  shelves(): Iterable<Shelf>;
  /** The inhibition state of the sites `of` accepts, as their owners last wrote it (what holds, what it holds). */
  inhibition(of: (site: string) => boolean): Pick<Inhibition, 'inhibitors' | 'held'>;
  /** Events released by other nodes (this node's own reach its listeners directly). */
  onEvent(listener: (event: AlarmEvent) => void): void;
  /** Why the feed may be missing changes now (its connection down), or null. */
  trouble(): string | null;
  close(): void;
}

export interface AlarmMirrorDeps {
  redisUrl: string;
  keyPrefix: string;
  /** This node's incarnation: its own messages carry it. */
  incarnation: string;
  /** Resolved alarms kept (the oldest go first). */
  maxClosed: number;
  log: Logger;
  /** The connection the shared store is read with at start (default: one of its own, connected by `start`). */
  reader?: Redis;
}

export function createAlarmMirror(deps: AlarmMirrorDeps): AlarmMirror {
  const subscriber = new Redis(deps.redisUrl, { lazyConnect: true });
  // a read that hangs (Redis half up) fails after 10 s and is tried again, rather than hold every feed message back for good
  const reader = deps.reader ?? new Redis(deps.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, commandTimeout: 10_000 });
  subscriber.on('error', () => {});
  reader.on('error', () => {});
  const alarms = new Map<string, SharedAlarm>();
  const closedOrder: string[] = [];
  const shelves = new Map<string, Shelf>();
  const endedShelves: string[] = [];
  const listeners: Array<(event: AlarmEvent) => void> = [];
  /** Per site, its inhibitors and held changes by key, each in the order its owner set it. */
  const inhibitionBySite = new Map<string, { inhibitors: Map<string, Inhibitor>; held: Map<string, SiteInhibition['held'][number]> }>();
  const inhibitionOf = (site: string) => {
    let rows = inhibitionBySite.get(site);
    if (!rows) {
      rows = { inhibitors: new Map(), held: new Map() };
      inhibitionBySite.set(site, rows);
    }
    return rows;
  };
  /** Each entry of the shared store handed to `take`, parsed; one that cannot be read or taken is said in the log. */
  const eachParsed = <T>(texts: readonly string[], site: string, unreadable: string, take: (value: T) => void): void => {
    for (const text of texts) {
      try {
        take(JSON.parse(text) as T);
      } catch (error) {
        deps.log.warn({ err: error, site }, unreadable);
      }
    }
  };
  /** Applies rows deleted, then set (a key set again keeps its place; one deleted and set goes last). */
  const applyRows = <T>(into: Map<string, T>, changes: RowChanges, keyOf: (value: T) => string, site: string): void => {
    for (const key of changes.gone) into.delete(key);
    eachParsed<T>(changes.set, site, 'shared inhibition row unreadable', (value) => into.set(keyOf(value), value));
  };
  const applyInhibition = (site: string, inhibitors: RowChanges, held: RowChanges): void => {
    const rows = inhibitionOf(site);
    applyRows(rows.inhibitors, inhibitors, (inhibitor) => inhibitor.key, site);
    applyRows(rows.held, held, (entry) => entry.change.key, site);
  };

  const keep = (shared: SharedAlarm): void => {
    const known = alarms.get(shared.alarm.id);
    if (known && known.alarm.seq > shared.alarm.seq) return;
    alarms.set(shared.alarm.id, shared);
    if (!shared.alarm.resolved || known?.alarm.resolved) return;
    closedOrder.push(shared.alarm.id);
    while (closedOrder.length > deps.maxClosed) alarms.delete(closedOrder.shift() as string);
  };

  const keepShelf = (shelf: Shelf): void => {
    const known = shelves.get(shelf.id);
    // an ended shelf does not come back on (a feed message overtaken by a later one, a load after the end)
    if (known?.endedAt && !shelf.endedAt) return;
    shelves.set(shelf.id, shelf);
    if (shelf.endedAt === null || known?.endedAt) return;
    endedShelves.push(shelf.id);
    while (endedShelves.length > deps.maxClosed) shelves.delete(endedShelves.shift() as string);
  };

  /** A feed message, applied (`feed` holds it while the shared store is read: feed-catch-up.ts). */
  const apply = (text: string): void => {
    let message: AlarmFeedMessage;
    try {
      message = JSON.parse(text) as AlarmFeedMessage;
    } catch (error) {
      deps.log.warn({ err: error }, 'alarm feed message unreadable');
      return;
    }
    for (const shared of message.alarms) keep(shared);
    for (const shelf of message.shelves ?? []) keepShelf(shelf);
    if (message.inhibition) applyInhibition(message.inhibition.site, message.inhibition.inhibitors, message.inhibition.held);
    if (message.from === deps.incarnation) return;
    for (const event of message.events) tellListeners(listeners, event, deps.log);
  };
  const feed = heldFeed(apply);

  /** The newest resolution read from the cluster's resolved alarms (their order's score, ms): a reload reads on from it. */
  let closedReadUpTo = Number.NEGATIVE_INFINITY;
  /** Resolved alarms the shared store holds, keyed by id: all at start, those resolved since the last read on a reload. */
  const readClosed = async (): Promise<Set<string>> => {
    const [alarmsKey, orderKey] = closedAlarmsKeysOf(deps.keyPrefix);
    // a minute back: a resolution written just before the last read, with a clock a little behind, is not missed
    const from = Number.isFinite(closedReadUpTo) ? String(closedReadUpTo - 60_000) : '-inf';
    const ranked = await reader.zrangebyscore(orderKey, from, '+inf', 'WITHSCORES');
    const ids: string[] = [];
    let upTo = closedReadUpTo;
    for (let i = 0; i + 1 < ranked.length; i += 2) {
      ids.push(ranked[i] as string);
      upTo = Math.max(upTo, Number(ranked[i + 1]));
    }
    const read = new Set<string>();
    if (ids.length === 0) return read;
    // oldest resolved first, as the feed would have told them (the mirror keeps the newest)
    keepResolved(await reader.hmget(alarmsKey, ...ids), read);
    closedReadUpTo = upTo; // only once read: a read that failed is made again from where it was
    return read;
  };
  /** Resolved alarms as the shared store has them (`texts`, null for an id it has none of) kept, their ids added to `into`. */
  const keepResolved = (texts: ReadonlyArray<string | null>, into: Set<string>): void => {
    const found = texts.filter((text): text is string => text !== null);
    eachParsed<SharedAlarm>(found, '(resolved)', 'shared resolved alarm unreadable', (shared) => {
      into.add(shared.alarm.id);
      keep(shared);
    });
  };

  /**
   * Reads the sites' alarms, shelves and inhibition rows from the shared store, every read done before it settles; a
   * site's inhibition rows replace what was known of them. An open alarm of the mirror the site no longer holds was
   * resolved while the feed was not heard (`resolved`, read first: the record replaced it); one the store lost (a Redis
   * crash) is kept as it was, its owner still has it, and said in the log.
   */
  const readAll = async (sites: Iterable<string>, resolved: ReadonlySet<string>): Promise<void> => {
    const reads = await Promise.allSettled(
      [...new Set(sites)].map(async (site) => {
        const [inhibitorsKey, heldKey] = inhibitionKeysOf(deps.keyPrefix, site);
        const [values, shelfValues, inhibitorRows, heldRows] = await Promise.all([
          reader.hvals(`${deps.keyPrefix}site:${site}:alarms`),
          reader.hvals(shelvesKeyOf(deps.keyPrefix, site)),
          reader.hgetall(inhibitorsKey),
          reader.hgetall(heldKey),
        ]);
        const flat = (record: Record<string, string>): string[] => Object.entries(record).flat();
        inhibitionBySite.delete(site);
        applyInhibition(site, { gone: [], set: rowsInPlace(flat(inhibitorRows)) }, { gone: [], set: rowsInPlace(flat(heldRows)) });
        const stored = new Set<string>();
        eachParsed<SharedAlarm>(values, site, 'shared alarm unreadable', (shared) => {
          stored.add(shared.alarm.id);
          keep(shared);
        });
        const missing = [...alarms.values()]
          .filter(
            (shared) =>
              shared.alarm.site === site && !shared.alarm.resolved && !stored.has(shared.alarm.id) && !resolved.has(shared.alarm.id),
          )
          .map((shared) => shared.alarm.id);
        if (missing.length > 0) {
          // looked up by id (whatever the clocks of the nodes that resolved them): resolved ones take their record
          const found = new Set<string>();
          keepResolved(await reader.hmget(closedAlarmsKeysOf(deps.keyPrefix)[0], ...missing), found);
          const lost = missing.length - found.size;
          if (lost > 0) deps.log.warn({ site, alarms: lost }, 'open alarms not in the shared store: kept as last heard');
        }
        eachParsed(shelfValues, site, 'shared shelf unreadable', keepShelf);
      }),
    );
    const failed = reads.find((read) => read.status === 'rejected');
    if (failed) throw failed.reason;
  };

  /** What was published while the feed was not heard is read from the shared store: resolved alarms first, then the sites. */
  const readStore = async (sites: Iterable<string>): Promise<void> => readAll(sites, await readClosed());

  /** The sites `start` loaded; `reload` reads them again. */
  let watched: string[] = [];
  let started = false;
  let closed = false;
  /** Set from a reconnect until a read after it went through: what the mirror shows may be behind. */
  let stale = false;
  const catchUp = feedCatchUp({
    read: () => readStore(watched),
    feed,
    firstWaitMs: 1_000,
    closed: () => closed,
    caughtUp: () => {
      stale = false;
      deps.log.info({ sites: watched.length }, 'alarm feed reconnected: shared alarms read again');
    },
    failed: (error) => deps.log.warn({ err: error }, 'alarm feed reconnected, but the shared alarms could not be read again: trying again'),
  });
  const reload = (): Promise<void> => {
    stale = true;
    return catchUp();
  };
  subscriber.on('ready', () => {
    if (started) void reload();
  });

  return {
    async start(sites) {
      watched = [...new Set(sites)];
      await Promise.all([subscriber.connect(), deps.reader ? undefined : reader.connect()]);
      feed.hold();
      subscriber.on('message', (_channel: string, text: string) => feed.receive(text));
      try {
        await subscriber.subscribe(alarmFeedOf(deps.keyPrefix));
        // after subscribing: what changes while loading arrives by the feed, and is applied after what was read
        await readStore(sites);
      } finally {
        feed.release();
        started = true;
      }
    },
    trouble: () =>
      !started
        ? null
        : subscriber.status !== 'ready'
          ? `the alarm feed's connection to redis is ${subscriber.status}`
          : stale
            ? 'the alarm feed reconnected; the shared alarms are not read again yet (the list may be behind)'
            : null,
    get: (id) => alarms.get(id)?.alarm,
    history: (id) => alarms.get(id)?.history ?? [],
    all: () => [...alarms.values()].map((shared) => shared.alarm),
    shelves: () => shelves.values(),
    inhibition(of) {
      // the owners' rows, taken as a book would take them (which inhibitor holds each change is worked out the same way)
      const view = createInhibition();
      for (const [site, rows] of inhibitionBySite)
        if (of(site)) view.adopt({ inhibitors: [...rows.inhibitors.values()], held: [...rows.held.values()] });
      return { inhibitors: () => view.inhibitors(), held: () => view.held() };
    },
    onEvent(listener) {
      listeners.push(listener);
    },
    close() {
      closed = true;
      subscriber.disconnect();
      reader.disconnect();
    },
  };
}

/** What the API reads of alarms in a cluster: this node's book first (the freshest of its sites), then the mirror. */
export type AlarmView = Pick<AlarmBook, 'get' | 'history' | 'list'>;

export function clusterAlarmView(book: AlarmView, mirror: AlarmMirror): AlarmView {
  return {
    get: (id) => book.get(id) ?? mirror.get(id),
    history: (id) => (book.get(id) ? book.history(id) : mirror.history(id)),
    list(query) {
      const merged = new Map<string, Alarm>();
      for (const alarm of mirror.all()) merged.set(alarm.id, alarm);
      for (const alarm of book.list({ state: 'all' })) merged.set(alarm.id, alarm);
      return listAlarms(merged.values(), query);
    },
  };
}
