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
  /** The most recent inhibited changes, oldest first. */
  recent: InhibitedChange[];
}

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
  /** Whether anything changed since the last call (for a store that saves it). */
  takeChanged(): boolean;
  snapshot(): InhibitionSnapshot;
  restore(snapshot: InhibitionSnapshot | undefined): void;
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

/** The metric a change is about: its verdict's, or for a clear without one, that of the state it ends. */
const metricOf = (change: VerdictChange, before: VerdictChange | undefined): string | null => {
  const verdict = change.verdict;
  if (verdict.status === 'true') return verdict.metric;
  if (verdict.status === 'false' && verdict.detail?.metric) return verdict.detail.metric;
  return before?.verdict.status === 'true' ? before.verdict.metric : null;
};

const covers = (inhibitor: Inhibitor, change: VerdictChange, before: VerdictChange | undefined): boolean => {
  if (inhibitor.key === change.key || inhibitor.site !== change.site) return false;
  const { scope, rules, profiles, sameMetric } = inhibitor.inhibits;
  if (scope === 'device' && inhibitor.device !== change.device) return false;
  if (profiles && !profiles.includes(change.profile)) return false;
  if (sameMetric && (inhibitor.metric == null || metricOf(change, before) !== inhibitor.metric)) return false;
  // without a list, an inhibitor never covers another inhibitor (a silent device's silence alarm still goes out)
  return rules ? rules.includes(change.rule) : change.inhibits === undefined;
};

/**
 * Inhibition (designed suppression): while a rule that inhibits holds (a silent device, a sensor fault, a site's
 * power off), the changes of the rules it explains do not move their alarms; they are recorded, and their last one
 * is applied when it ends. Pure: no clock, no I/O; its state is a snapshot.
 */
export function createInhibition(options: { maxRecent?: number } = {}): Inhibition {
  const maxRecent = options.maxRecent ?? 1_000;
  const inhibitors = new Map<string, Inhibitor>();
  const latent = new Map<string, VerdictChange>();
  let recent: InhibitedChange[] = [];
  let changed = false;

  const coveringOf = (change: VerdictChange): Inhibitor | undefined => {
    const before = latent.get(change.key);
    for (const inhibitor of inhibitors.values()) if (covers(inhibitor, change, before)) return inhibitor;
    return undefined;
  };

  return {
    observe(change) {
      const released: VerdictChange[] = [];
      if (change.verdict.status === 'pending') return { held: latent.has(change.key) && coveringOf(change) !== undefined, released };
      if (change.verdict.status === 'true' && change.inhibits) {
        const was = inhibitors.get(change.key);
        inhibitors.set(change.key, {
          key: change.key,
          site: change.site,
          device: change.device,
          profile: change.profile,
          rule: change.rule,
          inhibits: change.inhibits,
          metric: change.verdict.metric,
          since: was?.since ?? change.at,
        });
        changed = true;
      } else if (inhibitors.delete(change.key)) {
        changed = true;
        for (const [key, waiting] of latent) {
          if (coveringOf(waiting)) continue;
          latent.delete(key);
          released.push({ ...waiting, at: change.at });
        }
      }
      const by = coveringOf(change);
      if (!by) {
        if (latent.delete(change.key)) changed = true;
        return { held: false, released };
      }
      latent.set(change.key, change);
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
      if (recent.length > maxRecent) recent = recent.slice(recent.length - maxRecent);
      changed = true;
      return { held: true, released };
    },
    inhibitors: () => [...inhibitors.values()].map((i) => structuredClone(i)),
    held: () =>
      [...latent.entries()].map(([key, change]) => ({
        key,
        inhibitedBy: coveringOf(change)?.key ?? '',
        status: change.verdict.status === 'true' ? 'true' : 'false',
        severity: change.verdict.status === 'true' ? change.verdict.severity : null,
      })),
    recent: () => [...recent].reverse(),
    takeChanged() {
      const was = changed;
      changed = false;
      return was;
    },
    snapshot: () => structuredClone({ inhibitors: [...inhibitors.values()], latent: [...latent.entries()], recent }),
    restore(snapshot) {
      inhibitors.clear();
      latent.clear();
      recent = [];
      if (!snapshot) return;
      const copy = structuredClone(snapshot);
      for (const inhibitor of copy.inhibitors) inhibitors.set(inhibitor.key, inhibitor);
      for (const [key, change] of copy.latent) latent.set(key, change);
      recent = copy.recent;
    },
  };
}
