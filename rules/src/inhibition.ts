import type { VerdictChange } from './engine/verdict-change.js';
import type { Inhibits } from './inhibits.js';
import type { Severity } from './severity.js';

/** A rule whose condition holds and inhibits what it explains. */
export interface Inhibitor {
  key: string;
  site: string;
  device: string;
  profile: string;
  rule: string;
  inhibits: Inhibits;
  /** The metric its verdict names (a sensor fault's sensor), for `sameMetric`. */
  metric?: string | null;
  /** When its condition became true (ms). */
  since: number;
}

/** A verdict change that was inhibited: recorded here instead of moving an alarm. */
export interface InhibitedChange {
  at: number;
  key: string;
  site: string;
  device: string;
  profile: string;
  rule: string;
  status: 'true' | 'false';
  severity: Severity | null;
  message: string | null;
  /** The key of the inhibitor that explains it. */
  inhibitedBy: string;
}

export interface InhibitionSnapshot {
  inhibitors: Inhibitor[];
  /** Per inhibited key: its condition's last change, applied when no inhibitor covers it any more. */
  latent: Array<[string, VerdictChange]>;
  /**
   * Per inhibited key: the metric its held state is about (a clear that names none is about the state it ended).
   * Missing in snapshots of older gateways: the latent change's own metric then.
   */
  heldMetrics?: Array<[string, string | null]>;
  /** The most recent inhibited changes, oldest first. */
  recent: InhibitedChange[];
}

/**
 * What changed in the inhibition state since the last `takeChanges`, for a store that keeps it as rows: applying every
 * take in turn to rows keyed by inhibitor and held key (`ended` and `released` deleted first, then `inhibitors` and
 * `held` written, a key not yet saved after every saved one, a saved key keeping its place) and appending `recent`
 * gives back `snapshot()`, in its order. What a step costs the store is what the step changed, not the whole state (a
 * fleet back after an outage ends thousands of inhibitors, one reading at a time).
 */
export interface InhibitionChanges {
  /** Inhibitors that ended since (some may have been set again: they are in `inhibitors` too, as new ones). */
  ended: string[];
  /** Inhibitors set or replaced since, in the order they were first set. */
  inhibitors: Inhibitor[];
  /** Keys no longer held (some may be held again: they are in `held` too, as new ones). */
  released: string[];
  /** Held changes set or replaced since, in the order they were first held, with the metric each is held for. */
  held: Array<{ change: VerdictChange; metric: string | null }>;
  /** Inhibited changes recorded since, oldest first (at most the number kept). */
  recent: InhibitedChange[];
}

/** What one gateway node hands the next of a site's inhibition state: its inhibitors and the changes they hold. */
export interface SiteInhibition {
  inhibitors: Inhibitor[];
  held: Array<{ change: VerdictChange; metric: string | null }>;
}

/** The site of an alarm key: every key begins with its site and a slash (site ids have none). */
export const siteOfKey = (key: string): string => key.slice(0, key.indexOf('/'));

export interface Inhibition {
  /**
   * Takes a verdict change before it reaches an alarm: `held` when an active inhibitor covers it (it is recorded and
   * kept as the key's latent state); `released`: latent changes of keys no inhibitor covers any more (the condition's
   * current state, at this change's time), to apply after it.
   */
  observe(change: VerdictChange): { held: boolean; released: VerdictChange[] };
  inhibitors(): Inhibitor[];
  /** Inhibited keys and the inhibitor holding each (the key's latent state waits for its end). */
  held(): Array<{ key: string; inhibitedBy: string; status: 'true' | 'false'; severity: Severity | null }>;
  /** Recent inhibited changes, newest first. */
  recent(): InhibitedChange[];
  /** What changed since the last call (for a store that saves it); null when nothing did. */
  takeChanges(): InhibitionChanges | null;
  snapshot(): InhibitionSnapshot;
  restore(snapshot: InhibitionSnapshot | undefined): void;
  /**
   * The sites went to another gateway node: their inhibitors and held changes leave, releasing nothing (the node that
   * takes a site takes them), and are no change to save.
   */
  forgetSites(sites: ReadonlySet<string>): void;
  /**
   * Takes over what another gateway node held of the sites it gave up (the shared store's rows, no change to save): its
   * inhibitors in the order they were set, then the changes they hold in the order they were first held (the order
   * decides which inhibitor a change is held by, and in which order changes held together are released). What this
   * held of those sites goes first.
   */
  adopt(part: SiteInhibition): void;
}

/**
 * The changes of one batch with, among those of the same time, the ones of inhibiting rules first: a reading that
 * both shows a sensor fault and crosses a value threshold raises only the fault.
 */
export function inhibitorsFirst(changes: readonly VerdictChange[]): VerdictChange[] {
  const out: VerdictChange[] = [];
  let start = 0;
  while (start < changes.length) {
    const at = (changes[start] as VerdictChange).at;
    let end = start;
    while (end < changes.length && (changes[end] as VerdictChange).at === at) end += 1;
    const run = changes.slice(start, end);
    out.push(...run.filter((c) => c.inhibits !== undefined), ...run.filter((c) => c.inhibits === undefined));
    start = end;
  }
  return out;
}

/** The metric a change names: its verdict's, or a clear's detail's; null for a clear (or a pending change) naming none. */
const ownMetricOf = (change: VerdictChange): string | null => {
  const verdict = change.verdict;
  if (verdict.status === 'true') return verdict.metric;
  return verdict.status === 'false' ? (verdict.detail?.metric ?? null) : null;
};

/**
 * Whether an inhibitor of the change's own site (its device, when device-scoped) covers it: the indexes offer no
 * other, so site and device are not compared here.
 */
const covers = (inhibitor: Inhibitor, change: VerdictChange, metric: string | null): boolean => {
  if (inhibitor.key === change.key) return false;
  const { rules, profiles, sameMetric } = inhibitor.inhibits;
  if (profiles && !profiles.includes(change.profile)) return false;
  if (sameMetric && (inhibitor.metric == null || metric !== inhibitor.metric)) return false;
  // without a list, an inhibitor never covers another inhibitor (a silent device's silence alarm still goes out)
  return rules ? rules.includes(change.rule) : change.inhibits === undefined;
};

/** Where an inhibitor is looked for: device-scoped ones under their device, site-scoped ones under their site. */
const deviceSlot = (site: string, device: string): string => `${site}\u0000${device}`;

/** Inhibitors and latent changes indexed by where they can apply, each kept in the order it was first set. */
function createIndex<T>() {
  const by = new Map<string, Map<string, T>>();
  return {
    set(where: string, key: string, value: T): void {
      let group = by.get(where);
      if (!group) {
        group = new Map();
        by.set(where, group);
      }
      group.set(key, value);
    },
    delete(where: string, key: string): void {
      const group = by.get(where);
      if (!group?.delete(key)) return;
      if (group.size === 0) by.delete(where);
    },
    of: (where: string): ReadonlyMap<string, T> | undefined => by.get(where),
    clear: (): void => by.clear(),
  };
}

/** How many recent inhibited changes are kept, by default (and by the store). */
export const INHIBITED_KEPT = 1_000;

/**
 * Inhibition (designed suppression): while a rule that inhibits holds (a silent device, a sensor fault, a site's
 * power off), the changes of the rules it explains do not move their alarms; they are recorded, and their last one
 * is applied when it ends. Pure: no clock, no I/O; its state is a snapshot.
 *
 * An inhibitor covers only its own site (its device, when device-scoped), so a change is compared with the
 * inhibitors of its device and its site alone, and an inhibitor that ends or changes looks again only at the latent
 * changes within its reach: a mass outage (every device of a fleet silent, each its own inhibitor) costs each change
 * what one silent device does, not a pass over the whole fleet's.
 */
export function createInhibition(options: { maxRecent?: number } = {}): Inhibition {
  const maxRecent = options.maxRecent ?? INHIBITED_KEPT;
  /** Every inhibitor, in the order it was first set (the first that covers a change holds it). */
  const inhibitors = new Map<string, Inhibitor>();
  /** The order each inhibitor was first set in, to pick the earliest of the device's and the site's. */
  const order = new Map<string, number>();
  let nextOrder = 0;
  const byDevice = createIndex<Inhibitor>();
  const bySite = createIndex<Inhibitor>();
  const latent = new Map<string, VerdictChange>();
  /** The order each key was first held in (a key released and held again goes last). */
  const latentOrder = new Map<string, number>();
  let nextLatentOrder = 0;
  /** Per held key, the metric its held state is about (what a `sameMetric` inhibitor compares). */
  const heldMetric = new Map<string, string | null>();
  const latentByDevice = createIndex<VerdictChange>();
  const latentBySite = createIndex<VerdictChange>();
  /** The most recent inhibited changes, oldest first: the last `maxRecent` (trimmed when twice as many). */
  let recent: InhibitedChange[] = [];
  // What changed since the last `takeChanges`.
  const endedSince = new Set<string>();
  const setSince = new Set<string>();
  const releasedSince = new Set<string>();
  const heldSince = new Set<string>();
  let recentSince = 0;
  const forgetChanges = (): void => {
    endedSince.clear();
    setSince.clear();
    releasedSince.clear();
    heldSince.clear();
    recentSince = 0;
  };

  const whereOf = (inhibitor: Inhibitor): [index: typeof byDevice, where: string] =>
    inhibitor.inhibits.scope === 'device' ? [byDevice, deviceSlot(inhibitor.site, inhibitor.device)] : [bySite, inhibitor.site];

  /** Sets an inhibitor; the one it replaces, if any. */
  const putInhibitor = (inhibitor: Inhibitor): Inhibitor | undefined => {
    const was = inhibitors.get(inhibitor.key);
    if (was) {
      const [index, where] = whereOf(was);
      index.delete(where, was.key);
    } else order.set(inhibitor.key, nextOrder++);
    inhibitors.set(inhibitor.key, inhibitor);
    setSince.add(inhibitor.key);
    const [index, where] = whereOf(inhibitor);
    index.set(where, inhibitor.key, inhibitor);
    return was;
  };

  const dropInhibitor = (key: string): Inhibitor | undefined => {
    const was = inhibitors.get(key);
    if (!was) return undefined;
    inhibitors.delete(key);
    order.delete(key);
    endedSince.add(key);
    const [index, where] = whereOf(was);
    index.delete(where, key);
    return was;
  };

  /** The metric a change is about: the one it names, else (a clear naming none) that of the key's held state. */
  const metricOf = (change: VerdictChange): string | null => ownMetricOf(change) ?? heldMetric.get(change.key) ?? null;

  const putLatent = (change: VerdictChange, metric: string | null): void => {
    if (!latent.has(change.key)) latentOrder.set(change.key, nextLatentOrder++);
    latent.set(change.key, change);
    heldSince.add(change.key);
    heldMetric.set(change.key, metric);
    latentByDevice.set(deviceSlot(change.site, change.device), change.key, change);
    latentBySite.set(change.site, change.key, change);
  };

  const dropLatent = (change: VerdictChange): boolean => {
    if (!latent.delete(change.key)) return false;
    heldMetric.delete(change.key);
    latentOrder.delete(change.key);
    releasedSince.add(change.key);
    latentByDevice.delete(deviceSlot(change.site, change.device), change.key);
    latentBySite.delete(change.site, change.key);
    return true;
  };

  /**
   * The first inhibitor (in the order they were set) of the change's device and site that covers it; `metric`: what
   * the change is about (a held change: what it was held for).
   */
  const coveringOf = (change: VerdictChange, metric = metricOf(change)): Inhibitor | undefined => {
    let first: Inhibitor | undefined;
    let firstOrder = Number.POSITIVE_INFINITY;
    for (const candidates of [byDevice.of(deviceSlot(change.site, change.device)), bySite.of(change.site)]) {
      if (!candidates) continue;
      for (const inhibitor of candidates.values()) {
        const at = order.get(inhibitor.key) as number;
        if (at < firstOrder && covers(inhibitor, change, metric)) {
          first = inhibitor;
          firstOrder = at;
        }
      }
    }
    return first;
  };

  /** The latent changes an inhibitor could cover that nothing covers now (it ended, or changed): released at `at`. */
  const releasedAfter = (was: Inhibitor, at: number): VerdictChange[] => {
    const reach = was.inhibits.scope === 'device' ? latentByDevice.of(deviceSlot(was.site, was.device)) : latentBySite.of(was.site);
    const released: VerdictChange[] = [];
    for (const waiting of [...(reach?.values() ?? [])]) {
      if (coveringOf(waiting, heldMetric.get(waiting.key) ?? null)) continue;
      if (!dropLatent(waiting)) continue;
      released.push({ ...waiting, at });
    }
    return released;
  };

  /** Drops the sites' inhibitors and held changes, releasing nothing; no change to save. */
  const forgetSites = (sites: ReadonlySet<string>): void => {
    for (const inhibitor of [...inhibitors.values()]) {
      if (!sites.has(inhibitor.site)) continue;
      dropInhibitor(inhibitor.key);
      endedSince.delete(inhibitor.key);
      setSince.delete(inhibitor.key);
    }
    for (const change of [...latent.values()]) {
      if (!sites.has(change.site)) continue;
      dropLatent(change);
      releasedSince.delete(change.key);
      heldSince.delete(change.key);
    }
  };

  return {
    observe(change) {
      if (change.verdict.status === 'pending') return { held: latent.has(change.key) && coveringOf(change) !== undefined, released: [] };
      let released: VerdictChange[] = [];
      if (change.verdict.status === 'true' && change.inhibits) {
        const was = inhibitors.get(change.key);
        const replaced = putInhibitor({
          key: change.key,
          site: change.site,
          device: change.device,
          profile: change.profile,
          rule: change.rule,
          inhibits: change.inhibits,
          metric: change.verdict.metric,
          since: was?.since ?? change.at,
        });
        // a sensor fault now about another metric no longer holds what it held about the first
        if (replaced) released = releasedAfter(replaced, change.at);
      } else {
        const ended = dropInhibitor(change.key);
        if (ended) released = releasedAfter(ended, change.at);
      }
      const metric = metricOf(change);
      const by = coveringOf(change, metric);
      if (!by) {
        dropLatent(change);
        return { held: false, released };
      }
      putLatent(change, metric);
      const verdict = change.verdict;
      recent.push({
        at: change.at,
        key: change.key,
        site: change.site,
        device: change.device,
        profile: change.profile,
        rule: change.rule,
        status: verdict.status === 'true' ? 'true' : 'false',
        severity: verdict.status === 'true' ? verdict.severity : null,
        message: verdict.status === 'true' ? verdict.message : (verdict.detail?.message ?? null),
        inhibitedBy: by.key,
      });
      recentSince += 1;
      if (recent.length >= 2 * maxRecent) recent = recent.slice(-maxRecent);
      return { held: true, released };
    },
    inhibitors: () => [...inhibitors.values()].map((i) => structuredClone(i)),
    held: () =>
      [...latent.entries()].map(([key, change]) => ({
        key,
        inhibitedBy: coveringOf(change, heldMetric.get(key) ?? null)?.key ?? '',
        status: change.verdict.status === 'true' ? 'true' : 'false',
        severity: change.verdict.status === 'true' ? change.verdict.severity : null,
      })),
    recent: () => recent.slice(-maxRecent).reverse(),
    takeChanges() {
      if (endedSince.size + setSince.size + releasedSince.size + heldSince.size + recentSince === 0) return null;
      const set = [...setSince].filter((key) => inhibitors.has(key));
      set.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
      const held = [...heldSince].filter((key) => latent.has(key));
      held.sort((a, b) => (latentOrder.get(a) as number) - (latentOrder.get(b) as number));
      const changes: InhibitionChanges = structuredClone({
        ended: [...endedSince],
        inhibitors: set.map((key) => inhibitors.get(key) as Inhibitor),
        released: [...releasedSince],
        held: held.map((key) => ({ change: latent.get(key) as VerdictChange, metric: heldMetric.get(key) ?? null })),
        recent: recentSince === 0 ? [] : recent.slice(-Math.min(recentSince, maxRecent)),
      });
      forgetChanges();
      return changes;
    },
    snapshot: () =>
      structuredClone({
        inhibitors: [...inhibitors.values()],
        latent: [...latent.entries()],
        heldMetrics: [...heldMetric.entries()],
        recent: recent.slice(-maxRecent),
      }),
    forgetSites,
    adopt(part) {
      const copy = structuredClone(part);
      forgetSites(new Set([...copy.inhibitors.map((i) => i.site), ...copy.held.map((h) => h.change.site)]));
      for (const inhibitor of copy.inhibitors) {
        putInhibitor(inhibitor);
        setSince.delete(inhibitor.key);
      }
      for (const { change, metric } of copy.held) {
        putLatent(change, metric);
        heldSince.delete(change.key);
      }
    },
    restore(snapshot) {
      inhibitors.clear();
      order.clear();
      byDevice.clear();
      bySite.clear();
      latent.clear();
      heldMetric.clear();
      latentByDevice.clear();
      latentBySite.clear();
      latentOrder.clear();
      recent = [];
      if (snapshot) {
        const copy = structuredClone(snapshot);
        for (const inhibitor of copy.inhibitors) putInhibitor(inhibitor);
        const metrics = new Map(copy.heldMetrics ?? []);
        for (const [key, change] of copy.latent) putLatent(change, metrics.has(key) ? (metrics.get(key) ?? null) : ownMetricOf(change));
        recent = copy.recent.slice(-maxRecent);
      }
      forgetChanges(); // what was restored is what the store holds
    },
  };
}
