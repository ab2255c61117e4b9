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
  const reader = deps.reader ?? new Redis(deps.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
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

  /**
   * Feed messages that came while the shared store was being read, applied after it in the order they came: a row
   * a message deleted (an inhibitor ended) may be in what the read returns, if the read ran first and its answer came
   * later on the other connection; applied before the read, the deletion was undone by it (inhibition rows have no
   * seq to tell the newer). Alarms (seq) and shelves (ended wins) come out the same either way.
   */
  let whileLoading: string[] | null = null;
  const received = (text: string): void => {
    if (whileLoading) {
      whileLoading.push(text);
      return;
    }
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

  /**
   * Reads the sites' alarms, shelves and inhibition rows from the shared store, every read done before it settles;
   * what the store has replaces what was known of each site (its inhibition rows whole; an open alarm no longer in the
   * store was resolved, or deleted, while the feed was not heard: it leaves the list rather than stay open in it).
   */
  const readAll = async (sites: Iterable<string>): Promise<void> => {
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
        for (const [id, shared] of alarms) if (shared.alarm.site === site && !shared.alarm.resolved && !stored.has(id)) alarms.delete(id);
        eachParsed(shelfValues, site, 'shared shelf unreadable', keepShelf);
      }),
    );
    const failed = reads.find((read) => read.status === 'rejected');
    if (failed) throw failed.reason;
  };

  /** The cluster's resolved alarms (their owners moved them there), oldest resolved first: kept as if heard on the feed. */
  const readClosed = async (): Promise<void> => {
    const texts = await reader.hvals(closedAlarmsKeysOf(deps.keyPrefix)[0]);
    const closed: SharedAlarm[] = [];
    eachParsed<SharedAlarm>(texts, '(resolved)', 'shared resolved alarm unreadable', (shared) => closed.push(shared));
    closed.sort((a, b) => Date.parse(a.alarm.resolvedAt ?? '') - Date.parse(b.alarm.resolvedAt ?? ''));
    for (const shared of closed) keep(shared);
  };

  /** The sites `start` loaded; `reload` reads them again. */
  let watched: string[] = [];
  let started = false;
  let reloading = false;
  /**
   * The feed's connection is back (Redis restarted, a network blip): what was published meanwhile never reached this
   * node, so the sites are read again, the feed's messages from now on applied after the read.
   */
  const reload = async (): Promise<void> => {
    if (reloading) return;
    reloading = true;
    whileLoading ??= [];
    try {
      await readAll(watched);
      await readClosed();
      deps.log.info({ sites: watched.length }, 'alarm feed reconnected: shared alarms read again');
    } catch (error) {
      deps.log.warn({ err: error }, 'alarm feed reconnected, but the shared alarms could not be read again');
    } finally {
      const came = whileLoading ?? [];
      whileLoading = null;
      reloading = false;
      for (const text of came) received(text);
    }
  };
  subscriber.on('ready', () => {
    if (started) void reload();
  });

  return {
    async start(sites) {
      watched = [...new Set(sites)];
      await Promise.all([subscriber.connect(), deps.reader ? undefined : reader.connect()]);
      whileLoading = [];
      subscriber.on('message', (_channel: string, text: string) => received(text));
      try {
        await subscriber.subscribe(alarmFeedOf(deps.keyPrefix));
        // after subscribing: what changes while loading arrives by the feed, and is applied after what was read
        await readAll(sites);
        await readClosed();
      } finally {
        const came = whileLoading ?? [];
        whileLoading = null;
        for (const text of came) received(text);
        started = true;
      }
    },
    trouble: () => (started && subscriber.status !== 'ready' ? `the alarm feed's connection is ${subscriber.status}` : null),
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
