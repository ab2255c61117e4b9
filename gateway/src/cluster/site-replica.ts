import { Redis } from 'ioredis';
import type { Alarm } from '../../../rules/src/alarm.js';
import type {
  AlarmBook,
  AlarmEvent,
  AlarmTransition,
  DeviceSnapshot,
  EngineChanges,
  FlapRecord,
  GroupSnapshot,
  InhibitionChanges,
  Inhibitor,
  Shelf,
  SiteAlarms,
  VerdictChange,
} from '../../../rules/src/index.js';
import { ENGINE_SNAPSHOT_VERSION, siteOfKey } from '../../../rules/src/index.js';
import { tellListeners } from '../alarms/alarm-listeners.js';
import { addToRuns, type SeqRun } from '../ingest/seq-runs.js';
import { type AcceptedSeq, type HandedOverSeqs, SEQ_WINDOW } from '../ingest/seq-window.js';
import type { SiteHandover } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { createOutageLog } from '../observability/outage-log.js';
import { seenKeyOf } from './membership.js';
import { seqRunsOf, seqRunsText } from './shared-seqs.js';

/**
 * A site as the shared store hands it to its next owner: rule state, open alarms, the runs of `seq` its devices'
 * readings carried (those with a device time), and how long nobody judged it.
 */
export interface TakenSite extends SiteHandover {
  alarms: SiteAlarms;
  seen: HandedOverSeqs[];
}

/** What the shared store keeps of one alarm that is not resolved, and what every node's mirror of it is told. */
export interface SharedAlarm {
  alarm: Alarm;
  history: AlarmTransition[];
  flap: FlapRecord | null;
}

export interface SiteReplicaDeps {
  redisUrl: string;
  keyPrefix: string;
  /** This node's incarnation: the fence each write checks. */
  incarnation: string;
  /** A previous owner last seen longer ago than this is dead: the time since then was spent down. */
  memberTimeout: number;
  /** Whether a site's alarms belong to an owner (a site of the registry); others (the gateway's own) are not shared. */
  shared(site: string): boolean;
  /** The alarm book, as it stands when a write is sent. */
  book: Pick<AlarmBook, 'get' | 'history' | 'flapOf' | 'list' | 'shelving' | 'inhibition'>;
  /** The site's writes were refused: another node took it. */
  onFenced(site: string): void;
  /** A write of the site went through. */
  onWritten?(site: string): void;
  metrics: GatewayMetrics;
  log: Logger;
  /** Resolved alarms the shared store keeps, all sites together (default MAX_CLOSED_SHARED). */
  maxClosed?: number;
}

/** Resolved alarms the shared store keeps by default, as a single node's store does (alarm-service.ts MAX_CLOSED). */
export const MAX_CLOSED_SHARED = 10_000;

/**
 * The shared store of a cluster (Redis): per site, its owner's rule state and open alarms, written before anything
 * the owner decided leaves it (a PUBACK, an alarm event), so that the node that takes the site next goes on from
 * there. Each site's writes are fenced by the owner the site names: a node that lost a site cannot overwrite it.
 */
export interface SiteReplica {
  /** Connects to Redis. */
  start(): Promise<void>;
  /** Stages the rule state a lane commit changed (serialised at once), and the `seq` of the readings it judged. */
  engineChanged(changes: EngineChanges, accepted?: readonly AcceptedSeq[]): void;
  /** An event of the alarm book: held until its alarm's state is written, then passed on (`onReleased`). */
  alarmEvent(event: AlarmEvent): void;
  /** The alarms a step's transitions touched, held ones too (no event tells of those): written with their site. */
  recorded(transitions: readonly AlarmTransition[]): void;
  /** Flapping alarms whose held-back condition changed with no transition: staged like `recorded`'s. */
  flapsChanged(alarms: readonly Alarm[]): void;
  /** Shelves and maintenance windows a step changed: written with their site (an ended one leaves the shared store). */
  shelvesChanged(shelves: readonly Shelf[]): void;
  /** What a step changed of the inhibition state (inhibitors, the changes they hold): written with their site. */
  inhibitionChanged(changes: InhibitionChanges): void;
  /** Where events go once written (webhooks, live feed, InfluxDB). */
  onReleased(listener: (event: AlarmEvent) => void): void;
  /**
   * Where events go that the last owner of a site taken over wrote but may not have handed to its own outbox and
   * spool (it died in between): webhooks and InfluxDB, again with their ids (at least once).
   */
  onRecovered(listener: (event: AlarmEvent) => void): void;
  /** A released (or recovered) event has left this node's outbox for every subscriber: the shared store forgets it. */
  handedOn(event: AlarmEvent): void;
  /**
   * Writes what is staged; true once everything staged before the call is in the shared store, false if not. With a
   * site: whether that site's last write went through (a site dropped since, or fenced, is false).
   */
  settled(site?: string): Promise<boolean>;
  /** Becomes the owner of the sites (fencing out the last one) and reads what it left. */
  take(sites: readonly string[]): Promise<TakenSite[]>;
  close(): void;
}

/** What a site's write tells every node (cluster/alarm-mirror.ts): the alarms and shelves as written, the events released. */
export interface AlarmFeedMessage {
  from: string;
  alarms: SharedAlarm[];
  events: AlarmEvent[];
  /** Shelves and maintenance windows that changed, ended ones too (absent from nodes of an earlier version). */
  shelves?: Shelf[];
  /** What the write changed of the site's inhibition rows (JSON of each row set), absent when nothing. */
  inhibition?: { site: string; inhibitors: RowChanges; held: RowChanges };
}

/** Rows of a hash deleted (keys), then set (the JSON of each, in the order set). */
export interface RowChanges {
  gone: string[];
  set: string[];
}

/**
 * The resolved alarms of the whole cluster, with their history and disposal record (a hash: id → SharedAlarm) and
 * their order of resolution (a sorted set: id by resolvedAt), the newest MAX_CLOSED kept: what every node lists and
 * shows of closed alarms, also after all of them restart, as a single node's store keeps them.
 */
export const closedAlarmsKeysOf = (keyPrefix: string): [alarms: string, order: string] => [
  `${keyPrefix}closed:alarms`,
  `${keyPrefix}closed:order`,
];

/** The channel of the alarm feed. */
export const alarmFeedOf = (keyPrefix: string): string => `${keyPrefix}alarm-feed`;

/** A site's shelves and maintenance windows that have not ended (a hash: shelf id → shelf). */
export const shelvesKeyOf = (keyPrefix: string, site: string): string => `${keyPrefix}site:${site}:shelves`;

/**
 * KEYS: the site's owner, rule-state hash, alarms hash, events-not-yet-handed-on hash, shelves hash, inhibitors
 * hash, held-changes hash, seq-runs hash (shared-seqs.ts), the cluster's resolved alarms and their order
 * (closedAlarmsKeysOf). An inhibitor's or held change's row is its place and its JSON (`12 {...}`): a new key
 * takes the next place (the hash's `#` counts them), a key set again keeps its own, so that the next owner has them
 * in the order they were first set (which inhibitor holds a change, the order of changes released together). ARGV: incarnation, then n rule-state fields set and their (field, value) pairs, n alarms
 * set and their pairs, n alarms resolved and their (field, value, resolved at) triples (they move to the resolved
 * alarms), n events released and their (id, event) pairs, n shelves
 * set and their pairs, n shelves deleted and their ids, n inhibitors deleted and their keys, n set and their pairs,
 * n held changes deleted and their keys, n set and their pairs (deletions first: a key ended and set again within
 * the write is set, as a new one), n devices' accepted seq and their (device, runs) pairs, then the alarm feed's channel and the message to publish there ('' for none), then how many
 * resolved alarms the cluster keeps (the oldest resolved beyond go). 0: fenced
 * (another node owns the site); 2: nobody did (Redis lost its data): this node claimed it again.
 */
const WRITE_SITE = `
local owner = redis.call('GET', KEYS[1])
local claimed = 1
if not owner then
  redis.call('SET', KEYS[1], ARGV[1])
  claimed = 2
elseif owner ~= ARGV[1] then
  return 0
end
local i = 2
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('HSET', KEYS[9], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[10], ARGV[i + 2], ARGV[i])
  i = i + 3
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HDEL', KEYS[5], ARGV[i]); i = i + 1 end
for k = 6, 7 do
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do redis.call('HDEL', KEYS[k], ARGV[i]); i = i + 1 end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local kept = redis.call('HGET', KEYS[k], ARGV[i])
    local place = kept and string.match(kept, '^(%d+) ') or tostring(redis.call('HINCRBY', KEYS[k], '#', 1))
    redis.call('HSET', KEYS[k], ARGV[i], place .. ' ' .. ARGV[i + 1])
    i = i + 2
  end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', KEYS[8], ARGV[i], ARGV[i + 1]); i = i + 2 end
local excess = redis.call('ZCARD', KEYS[10]) - tonumber(ARGV[i + 2])
if excess > 0 then
  local oldest = redis.call('ZRANGE', KEYS[10], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[10], 0, excess - 1)
  for _, id in ipairs(oldest) do redis.call('HDEL', KEYS[9], id) end
end
if ARGV[i + 1] ~= '' then redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return claimed
`;

/**
 * KEYS: the site's owner, rule-state hash, alarms hash, events-not-yet-handed-on hash, shelves hash, inhibitors
 * hash, held-changes hash, seq-runs hash, the nodes' last-seen hash, the site's last take (`…:took`). ARGV:
 * incarnation, member timeout. Reads everything first (a hash that cannot be read fails the script before it writes),
 * then names this node the owner; returns [time spent down (ms), previous owner, rule state, alarms, events not handed
 * on, shelves, inhibitors, held changes, seq runs (each flat)]. A take from another node is kept a minute in `…:took`:
 * the same node taking again within it (its answer lost to a timeout after an outage) gets that owner and downtime,
 * not itself and none — the dead owner's time down is never counted as the devices' silence.
 */
export const TAKE_SITE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = {
  redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4]), redis.call('HGETALL', KEYS[5]),
  redis.call('HGETALL', KEYS[6]), redis.call('HGETALL', KEYS[7]), redis.call('HGETALL', KEYS[8])
}
local prev = redis.call('GET', KEYS[1])
local down = 0
if prev and prev ~= ARGV[1] then
  local seen = redis.call('HGET', KEYS[9], prev)
  if seen and now - tonumber(seen) > tonumber(ARGV[2]) then down = now - tonumber(seen) end
  redis.call('SET', KEYS[10], prev .. ' ' .. tostring(down), 'PX', 60000)
elseif prev == ARGV[1] then
  local took = redis.call('GET', KEYS[10])
  if took then
    prev = string.match(took, '^(.*) ')
    down = tonumber(string.match(took, ' (%d+)$'))
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return { tostring(down), prev or '', state[1], state[2], state[3], state[4], state[5], state[6], state[7] }
`;

const GROUPS_FIELD = 'groups';
/**
 * Events a dead owner wrote and did not hand on, in the order they happened: by time (the owners' clocks), each
 * alarm's own in `seq` order whatever those clocks said (two owners that died one after the other, clocks apart).
 */
export function inSeqOrder(events: readonly AlarmEvent[]): AlarmEvent[] {
  const byTime = [...events].sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.id < b.id ? -1 : 1));
  const perAlarm = new Map<string, { events: AlarmEvent[]; next: number }>();
  for (const event of byTime) {
    const entry = perAlarm.get(event.data.alarm.id);
    if (entry) entry.events.push(event);
    else perAlarm.set(event.data.alarm.id, { events: [event], next: 0 });
  }
  for (const { events: list } of perAlarm.values()) list.sort((a, b) => a.data.alarm.seq - b.data.alarm.seq);
  // each alarm keeps the places its events had in time; the events in them go in seq order
  return byTime.map((event) => {
    const entry = perAlarm.get(event.data.alarm.id) as { events: AlarmEvent[]; next: number };
    entry.next += 1;
    return entry.events[entry.next - 1] as AlarmEvent;
  });
}

/** The field of an inhibitors or held-changes hash that counts the places given (see WRITE_SITE). */
const PLACE_COUNTER = '#';

/**
 * The rows of an inhibitors or held-changes hash (flat, as HGETALL gives them) as their JSON, in their places' order;
 * a row without a place (not written by WRITE_SITE) goes last.
 */
export function rowsInPlace(flat: readonly string[]): string[] {
  const placed: Array<[number, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] === PLACE_COUNTER) continue;
    const row = flat[i + 1] as string;
    const place = /^(\d+) /.exec(row);
    placed.push(place ? [Number(place[1]), row.slice(place[0].length)] : [Number.POSITIVE_INFINITY, row]);
  }
  return placed.sort((a, b) => a[0] - b[0]).map(([, row]) => row);
}

/** A site's inhibitors and held-changes hashes. */
export const inhibitionKeysOf = (keyPrefix: string, site: string): [inhibitors: string, held: string] => [
  `${keyPrefix}site:${site}:inhibitors`,
  `${keyPrefix}site:${site}:held`,
];
const DEVICE_FIELD = 'd:';

interface Staged {
  devices: Map<string, string>;
  groups: string | undefined;
  /**
   * Alarms to write, each with the book's own objects when staged (it changes them in place: they are as the book last
   * held them). The write reads the book again, and falls back to these when the book has let go of the site since
   * (the lane's last changes of a site given up, written while this node still holds its fence: the next owner must
   * get the state the released events tell of).
   */
  alarms: Map<string, SharedAlarm | null>;
  events: AlarmEvent[];
  shelves: Map<string, Shelf>;
  /** Rows of a hash keyed by alarm key: deleted ones, then set ones (a key in both was ended, then set again). */
  inhibitors: HashRows;
  held: HashRows;
  /** Devices that accepted readings since the last write, with their runs (written whole, as they are then). */
  seqs: Map<string, SeqRun[]>;
}

interface HashRows {
  gone: Set<string>;
  set: Map<string, string>;
}

const emptyRows = (): HashRows => ({ gone: new Set(), set: new Map() });
const emptyStaged = (): Staged => ({
  devices: new Map(),
  groups: undefined,
  alarms: new Map(),
  events: [],
  shelves: new Map(),
  inhibitors: emptyRows(),
  held: emptyRows(),
  seqs: new Map(),
});

/** A later change of a row: a deletion forgets an earlier set of the key, a set follows an earlier deletion. */
const rowGone = (rows: HashRows, key: string): void => {
  rows.set.delete(key);
  rows.gone.add(key);
};
/**
 * Puts back rows of a failed write before the newer ones: an older deletion stays (a newer set of the key is then a
 * new one, going last, as it did in the book); an older set gives way to a newer deletion, and keeps its place with
 * a newer set's value; the older sets go first (a new key's place is given in the order of the sets).
 */
const restageRows = (now: HashRows, older: HashRows): void => {
  // a key set in both keeps the older set's place, with the newer value
  const olderSets = [...older.set].filter(([key]) => !now.gone.has(key));
  for (const key of older.gone) now.gone.add(key);
  now.set = new Map([...olderSets, ...now.set]);
};
const rowArgs = (rows: HashRows): string[] => [String(rows.gone.size), ...rows.gone, String(rows.set.size), ...[...rows.set].flat()];

export function createSiteReplica(deps: SiteReplicaDeps): SiteReplica {
  const { log } = deps;
  /** A site's failed writes, logged once per outage (retried with every step while Redis is away). */
  const writes = createOutageLog(log, { failed: 'shared store write failed', restored: 'shared store write restored' });
  // Fails fast while Redis is away: nothing is acknowledged meanwhile, and what is staged is written on a later try.
  const redis = new Redis(deps.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 1_000),
  });
  redis.on('error', () => {}); // reported by the writes' outcomes and the cluster's readiness check
  /** The site's keys, in the order the scripts take them (KEYS[1..8]). */
  const keysOf = (site: string): [string, string, string, string, string, string, string, string] => {
    const base = `${deps.keyPrefix}site:${site}`;
    return [
      `${base}:owner`,
      `${base}:engine`,
      `${base}:alarms`,
      `${base}:unsent`,
      shelvesKeyOf(deps.keyPrefix, site),
      ...inhibitionKeysOf(deps.keyPrefix, site),
      `${base}:seqs`,
    ];
  };
  const listeners: Array<(event: AlarmEvent) => void> = [];
  const recoveredListeners: Array<(event: AlarmEvent) => void> = [];
  /** Events delivered by this node: the next owner need not hand them on. Cleared a turn at a time, per site. */
  let delivered = new Map<string, string[]>();
  let connected = false;
  const clearDelivered = (): void => {
    // deliveries from before a restart may finish before Redis is connected: cleared once it is
    if (!connected) return;
    const bySite = delivered;
    delivered = new Map();
    for (const [site, ids] of bySite)
      redis.hdel(keysOf(site)[3], ...ids).catch((error: Error) => {
        // left there, a next owner hands them on again: a repeated delivery with the same webhook-id
        log.warn({ err: error, site, events: ids.length }, 'handed-on events not cleared');
      });
  };
  let staged = new Map<string, Staged>();
  /** Per device of the sites this node judged, the runs of `seq` its readings carried (what the shared store keeps). */
  const seqRuns = new Map<string, SeqRun[]>();
  /** Per site, how many times this node took it: a write that failed before the last take is not tried again. */
  const takes = new Map<string, number>();
  /** Per site, whether its last write since it was taken went through (`settled(site)`). */
  const lastWrite = new Map<string, boolean>();
  let chain: Promise<boolean> = Promise.resolve(true);
  let scheduled = false;

  const stagedOf = (site: string): Staged => {
    let entry = staged.get(site);
    if (!entry) {
      entry = emptyStaged();
      staged.set(site, entry);
    }
    return entry;
  };

  const release = (events: readonly AlarmEvent[], to = listeners): void => {
    for (const event of events) tellListeners(to, event, log);
  };

  const sharedAlarmOf = (id: string): SharedAlarm | null => {
    const alarm = deps.book.get(id);
    return alarm ? { alarm, history: deps.book.history(id), flap: deps.book.flapOf(alarm.key) ?? null } : null;
  };

  /** The alarms as the book holds them now, staged for their sites' next write. */
  const stageAlarms = (alarms: readonly Alarm[]): void => {
    for (const alarm of alarms) if (deps.shared(alarm.site)) stagedOf(alarm.site).alarms.set(alarm.id, sharedAlarmOf(alarm.id));
    schedule();
  };

  const writeSite = async (site: string, entry: Staged): Promise<'written' | 'reclaimed' | 'fenced' | 'failed'> => {
    const engine: string[] = [];
    for (const [key, state] of entry.devices) engine.push(`${DEVICE_FIELD}${key}`, state);
    if (entry.groups !== undefined) engine.push(GROUPS_FIELD, entry.groups);
    const set: string[] = [];
    const gone: string[] = [];
    const shelves = [...entry.shelves.values()];
    const feed: AlarmFeedMessage = { from: deps.incarnation, alarms: [], events: entry.events, shelves };
    for (const [id, staged] of entry.alarms) {
      const value = sharedAlarmOf(id) ?? staged;
      // unknown to the book when staged and since (nothing to write of it): left as the store has it
      if (value === null) continue;
      feed.alarms.push(value);
      // a resolved alarm leaves the site's alarms (the next owner has nothing to go on with) for the cluster's closed ones
      if (value.alarm.resolved) gone.push(id, JSON.stringify(value), String(Date.parse(value.alarm.resolvedAt ?? '') || Date.now()));
      else set.push(id, JSON.stringify(value));
    }
    // an ended shelf leaves the shared store (a next owner has nothing to go on with); the mirrors keep it
    const shelvesOn = shelves.filter((shelf) => shelf.endedAt === null);
    const shelvesEnded = shelves.filter((shelf) => shelf.endedAt !== null);
    const rowChanges = (rows: HashRows): RowChanges => ({ gone: [...rows.gone], set: [...rows.set.values()] });
    if (entry.inhibitors.gone.size + entry.inhibitors.set.size + entry.held.gone.size + entry.held.set.size > 0)
      feed.inhibition = { site, inhibitors: rowChanges(entry.inhibitors), held: rowChanges(entry.held) };
    const message = feed.alarms.length > 0 || feed.events.length > 0 || shelves.length > 0 || feed.inhibition ? JSON.stringify(feed) : '';
    const args = [
      deps.incarnation,
      String(engine.length / 2),
      ...engine,
      String(set.length / 2),
      ...set,
      String(gone.length / 3),
      ...gone,
      String(entry.events.length),
      ...entry.events.flatMap((event) => [event.id, JSON.stringify(event)]),
      String(shelvesOn.length),
      ...shelvesOn.flatMap((shelf) => [shelf.id, JSON.stringify(shelf)]),
      String(shelvesEnded.length),
      ...shelvesEnded.map((shelf) => shelf.id),
      ...rowArgs(entry.inhibitors),
      ...rowArgs(entry.held),
      String(entry.seqs.size),
      ...[...entry.seqs].flatMap(([device, runs]) => [device, seqRunsText(runs)]),
      alarmFeedOf(deps.keyPrefix),
      message,
      String(deps.maxClosed ?? MAX_CLOSED_SHARED),
    ];
    try {
      const keys = [...keysOf(site), ...closedAlarmsKeysOf(deps.keyPrefix)];
      const written = (await redis.eval(WRITE_SITE, keys.length, ...keys, ...args)) as number;
      return written === 1 ? 'written' : written === 2 ? 'reclaimed' : 'fenced';
    } catch (error) {
      writes.failed(error, { site }, site);
      return 'failed';
    }
  };

  /** Puts back what a failed write held, behind nothing newer: newer state of the same device wins. */
  const restage = (site: string, entry: Staged): void => {
    const now = stagedOf(site);
    for (const [key, state] of entry.devices) if (!now.devices.has(key)) now.devices.set(key, state);
    if (now.groups === undefined) now.groups = entry.groups;
    for (const [id, value] of entry.alarms) if (!now.alarms.has(id)) now.alarms.set(id, value);
    for (const [id, shelf] of entry.shelves) if (!now.shelves.has(id)) now.shelves.set(id, shelf);
    restageRows(now.inhibitors, entry.inhibitors);
    restageRows(now.held, entry.held);
    for (const [device, runs] of entry.seqs) if (!now.seqs.has(device)) now.seqs.set(device, runs);
    now.events = [...entry.events, ...now.events];
  };

  const writeStaged = async (): Promise<boolean> => {
    const batch = staged;
    staged = new Map();
    if (batch.size === 0) return true;
    const takenBefore = new Map([...batch.keys()].map((site) => [site, takes.get(site) ?? 0]));
    const outcomes = await Promise.all([...batch].map(async ([site, entry]) => [site, entry, await writeSite(site, entry)] as const));
    let ok = true;
    for (const [site, entry, outcome] of outcomes) {
      deps.metrics.clusterSiteWrites.inc({ outcome });
      lastWrite.set(site, outcome === 'written' || outcome === 'reclaimed');
      if (outcome === 'written' || outcome === 'reclaimed') {
        writes.succeeded({ site }, site);
        release(entry.events);
        deps.onWritten?.(site);
        if (outcome === 'reclaimed') {
          // Redis lost the site (restarted without its data): its open alarms are written again whole, so that a
          // next owner finds them; rule state of devices that did not change since is not there until they do.
          log.warn({ site }, 'site missing from the shared store: claimed again');
          const again = stagedOf(site);
          for (const alarm of deps.book.list({ state: 'open', site })) again.alarms.set(alarm.id, sharedAlarmOf(alarm.id));
          for (const shelf of deps.book.shelving.list(false)) if (shelf.site === site) again.shelves.set(shelf.id, shelf);
          // the inhibition rows whole, in the book's order: each deleted first, so that it takes its place anew
          const inhibition = deps.book.inhibition.snapshot();
          const metrics = new Map(inhibition.heldMetrics);
          const inhibitors = inhibition.inhibitors.filter((inhibitor) => inhibitor.site === site);
          const held = inhibition.latent.filter(([, change]) => change.site === site);
          again.inhibitors = {
            gone: new Set([...again.inhibitors.gone, ...inhibitors.map((inhibitor) => inhibitor.key)]),
            set: new Map(inhibitors.map((inhibitor) => [inhibitor.key, JSON.stringify(inhibitor)])),
          };
          again.held = {
            gone: new Set([...again.held.gone, ...held.map(([key]) => key)]),
            set: new Map(held.map(([key, change]) => [key, JSON.stringify({ change, metric: metrics.get(key) ?? null })])),
          };
          schedule();
        }
        continue;
      }
      ok = false;
      if (outcome === 'failed') {
        // Taken (again) since this was decided: what the site's owner meanwhile did is in the store, this is void.
        if ((takes.get(site) ?? 0) === takenBefore.get(site)) restage(site, entry);
        else log.warn({ site, events: entry.events.length }, 'unwritten decisions of a site taken since: dropped');
      } else {
        // Another node took the site: what this node decided of it since is void there, and here too.
        log.warn({ site, events: entry.events.length }, 'site taken by another node');
        writes.forget(site);
        deps.onFenced(site);
      }
    }
    return ok;
  };

  /** Writes run one after another: a write that failed is retried inside the next, before what came after it. */
  const flush = (): Promise<boolean> => {
    scheduled = false;
    chain = chain.then(writeStaged, writeStaged);
    return chain;
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => void flush());
  };

  const parse = <T>(text: string, what: string, site: string): T | undefined => {
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      log.error({ err: error, site, what }, 'shared store entry unreadable');
      return undefined;
    }
  };

  /** The rows of an inhibitors or held-changes hash (flat, as HGETALL gives them), parsed, in their places' order. */
  const inPlace = <T>(flat: readonly string[], what: string, site: string): T[] =>
    rowsInPlace(flat).flatMap((row) => {
      const value = parse<T>(row, what, site);
      return value === undefined ? [] : [value];
    });

  return {
    async start() {
      await redis.connect();
      connected = true;
      clearDelivered();
    },
    engineChanged(changes, accepted = []) {
      for (const { key, state } of changes.devices) stagedOf(state.context.site).devices.set(key, JSON.stringify(state));
      for (const [device, site, seq, seqTime] of accepted) {
        let runs = seqRuns.get(device);
        if (!runs) {
          runs = [];
          seqRuns.set(device, runs);
        }
        addToRuns(runs, seq, seqTime, SEQ_WINDOW);
        stagedOf(site).seqs.set(device, runs);
      }
      for (const { site, groups } of changes.sites) stagedOf(site).groups = JSON.stringify(groups);
      // Forgotten devices are not deleted: the sites they belong to went to another node, which reads their state.
      schedule();
    },
    alarmEvent(event) {
      const { site, id } = event.data.alarm;
      if (!deps.shared(site)) return release([event]);
      const entry = stagedOf(site);
      entry.alarms.set(id, sharedAlarmOf(id));
      entry.events.push(event);
      schedule();
    },
    recorded(transitions) {
      stageAlarms(transitions.map((step) => step.alarm));
    },
    flapsChanged(alarms) {
      stageAlarms(alarms);
    },
    shelvesChanged(shelves) {
      for (const shelf of shelves) if (deps.shared(shelf.site)) stagedOf(shelf.site).shelves.set(shelf.id, shelf);
      schedule();
    },
    inhibitionChanged(changes) {
      const rowsOf = (key: string, which: 'inhibitors' | 'held'): HashRows | null => {
        const site = siteOfKey(key);
        return deps.shared(site) ? stagedOf(site)[which] : null;
      };
      for (const key of changes.ended) {
        const rows = rowsOf(key, 'inhibitors');
        if (rows) rowGone(rows, key);
      }
      for (const inhibitor of changes.inhibitors) rowsOf(inhibitor.key, 'inhibitors')?.set.set(inhibitor.key, JSON.stringify(inhibitor));
      for (const key of changes.released) {
        const rows = rowsOf(key, 'held');
        if (rows) rowGone(rows, key);
      }
      for (const held of changes.held) rowsOf(held.change.key, 'held')?.set.set(held.change.key, JSON.stringify(held));
      schedule();
    },
    onReleased(listener) {
      listeners.push(listener);
    },
    onRecovered(listener) {
      recoveredListeners.push(listener);
    },
    handedOn(event) {
      const { site } = event.data.alarm;
      if (!deps.shared(site)) return;
      const ids = delivered.get(site);
      if (ids) ids.push(event.id);
      else {
        if (delivered.size === 0 && connected) setImmediate(clearDelivered);
        delivered.set(site, [event.id]);
      }
    },
    settled(site) {
      if (site === undefined) return flush();
      // taken (again) while waiting: what was staged of the site is void, whatever its write did
      const taken = takes.get(site) ?? 0;
      return flush().then(() => (takes.get(site) ?? 0) === taken && (lastWrite.get(site) ?? true));
    },
    async take(sites) {
      // each site on its own: one whose script failed (a connection drop, a timeout after an outage) does not undo
      // the others, which are the node's now — their events handed on, their fences set
      const results = await Promise.allSettled(
        sites.map(async (site): Promise<TakenSite> => {
          // what this node decided of the site before it lost it (a write that failed, kept to try again) is void: the
          // owner since may have decided otherwise, and the state read below is what goes on; whoever waits for it
          // is told it did not go through (a reading is sent again, an action tried again)
          staged.delete(site);
          writes.forget(site);
          takes.set(site, (takes.get(site) ?? 0) + 1);
          lastWrite.delete(site);
          const tookKey = `${deps.keyPrefix}site:${site}:took`;
          const keys = [...keysOf(site), seenKeyOf(deps.keyPrefix), tookKey];
          const [down, previous, engineFlat, alarmsFlat, unsentFlat, shelvesFlat, inhibitorsFlat, heldFlat, seqsFlat] = (await redis.eval(
            TAKE_SITE,
            keys.length,
            ...keys,
            deps.incarnation,
            String(deps.memberTimeout),
          )) as [string, string, string[], string[], string[], string[], string[], string[], string[]];
          const devices: DeviceSnapshot[] = [];
          let groups: GroupSnapshot[] = [];
          for (let i = 0; i + 1 < engineFlat.length; i += 2) {
            const field = engineFlat[i] as string;
            const value = engineFlat[i + 1] as string;
            if (field === GROUPS_FIELD) groups = parse<GroupSnapshot[]>(value, 'groups', site) ?? [];
            else if (field.startsWith(DEVICE_FIELD)) {
              const device = parse<DeviceSnapshot>(value, 'device', site);
              if (device) devices.push(device);
            }
          }
          const alarms: SiteAlarms = { alarms: [], history: [], flaps: [], shelves: [], inhibition: { inhibitors: [], held: [] } };
          for (let i = 1; i < alarmsFlat.length; i += 2) {
            const shared = parse<SharedAlarm>(alarmsFlat[i] as string, 'alarm', site);
            if (!shared) continue;
            alarms.alarms.push(shared.alarm);
            alarms.history.push([shared.alarm.id, shared.history]);
            if (shared.flap) alarms.flaps?.push([shared.alarm.key, shared.flap]);
          }
          for (let i = 1; i < shelvesFlat.length; i += 2) {
            const shelf = parse<Shelf>(shelvesFlat[i] as string, 'shelf', site);
            if (shelf) alarms.shelves?.push(shelf);
          }
          if (alarms.inhibition) {
            alarms.inhibition.inhibitors = inPlace<Inhibitor>(inhibitorsFlat, 'inhibitor', site);
            alarms.inhibition.held = inPlace<{ change: VerdictChange; metric: string | null }>(heldFlat, 'held change', site);
          }
          // what the last owner accepted: this node goes on from it, and hands it to the lane (whose window copies it)
          const seen: HandedOverSeqs[] = [];
          for (let i = 0; i + 1 < seqsFlat.length; i += 2) {
            const device = seqsFlat[i] as string;
            const runs = seqRunsOf(seqsFlat[i + 1] as string);
            seqRuns.set(device, runs);
            seen.push([device, runs]);
          }
          const downMs = Number(down);
          // Events the last owner wrote and may not have put in its outbox (it died between the two): handed on from
          // here, in the order they happened, before anything this node decides of the site.
          const unsent: AlarmEvent[] = [];
          for (let i = 1; i < unsentFlat.length; i += 2) {
            const event = parse<AlarmEvent>(unsentFlat[i] as string, 'event', site);
            if (event) unsent.push(event);
          }
          release(inSeqOrder(unsent), recoveredListeners);
          // answered and taken: a later take of the site by this node (it lost it and got it back) is a take of its own
          redis.del(tookKey).catch(() => undefined);
          deps.metrics.clusterSitesTaken.inc();
          log.info(
            {
              site,
              previous: previous || null,
              devices: devices.length,
              alarms: alarms.alarms.length,
              shelves: alarms.shelves?.length,
              inhibitors: alarms.inhibition?.inhibitors.length,
              held: alarms.inhibition?.held.length,
              devicesWithSeq: seen.length,
              eventsHandedOn: unsent.length,
              downMs,
            },
            'site taken over',
          );
          return { site, snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices, groups }, alarms, seen, downMs };
        }),
      );
      const taken = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [[sites[index], result.reason] as const] : []));
      if (failed.length === 0) return taken;
      log.warn(
        { err: failed[0]?.[1], sites: failed.map(([site]) => site), taken: taken.length },
        'sites not taken over: tried again at the next check',
      );
      if (taken.length === 0) throw failed[0]?.[1];
      return taken;
    },
    close() {
      redis.disconnect();
    },
  };
}
