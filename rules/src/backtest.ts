import type { DeviceContext, MetricValue, Reading } from './reading.js';
import { type CadenceRange, createRuleEngine, type VerdictChange } from './rule-engine.js';
import type { MetricRange } from './rule-kind.js';
import type { RuleSet } from './rule-set.js';
import { compareSeverity, type Severity } from './severity.js';

/** One alarm from raise to clear (or to the end of the replay) as a rule set produced it. */
export interface AlarmEpisode {
  key: string;
  rule: string;
  raisedAt: number;
  clearedAt: number | null;
  /** First and highest severity of the episode. */
  severity: Severity;
  maxSeverity: Severity;
  message: string;
}

export type BacktestDifference =
  | { type: 'only_current'; key: string; episode: AlarmEpisode }
  | { type: 'only_candidate'; key: string; episode: AlarmEpisode }
  | { type: 'severity'; key: string; current: AlarmEpisode; candidate: AlarmEpisode }
  | { type: 'timing'; key: string; current: AlarmEpisode; candidate: AlarmEpisode; raisedDeltaMs: number; clearedDeltaMs: number | null };

export interface BacktestResult {
  readings: number;
  late: number;
  from: number | null;
  to: number | null;
  current: AlarmEpisode[];
  candidate: AlarmEpisode[];
  differences: BacktestDifference[];
}

export interface BacktestOptions {
  unitOf?(profile: string, metric: string): string | null;
  rangeOf?(profile: string, metric: string): MetricRange | null;
  reportingIntervalOf?(profile: string): number | null;
  /** The cadence range per profile: devices' cadences are learned as in the gateway (see RuleEngineDeps). */
  cadenceOf?(profile: string): CadenceRange | null;
  /** Keep the clock running this long after the last reading (silence, off-delays); default 0. */
  tailMs?: number;
  /** Timing differences smaller than this are not reported; default 0. */
  toleranceMs?: number;
  /**
   * A device's attributes as the gateway would hold them (its profile's defaults filled in); throws when they are
   * not valid for the profile. Devices not listed are given the profile's defaults, or none if it has no valid
   * defaults (a required attribute). Absent: attributes as given.
   */
  attributesOf?(profile: string, given: Readonly<Record<string, unknown>>): Record<string, MetricValue>;
}

const arrival = (r: Reading): number => r.receivedAt ?? r.ts;

/** A listed device with its attributes as the gateway would hold them; invalid ones are an error naming the device. */
function listed(device: DeviceContext, options: BacktestOptions): DeviceContext {
  if (!options.attributesOf) return device;
  try {
    return { ...device, attributes: options.attributesOf(device.profile, device.attributes ?? {}) };
  } catch (error) {
    throw new Error(`device ${device.site}/${device.device}: ${(error as Error).message}`);
  }
}

/** A device of the recording that `devices` does not list: its profile's default attributes, where it has them. */
function unlisted(reading: Reading, options: BacktestOptions): DeviceContext {
  let attributes: Record<string, MetricValue> = {};
  try {
    attributes = options.attributesOf?.(reading.profile, {}) ?? {};
  } catch {
    // the profile requires an attribute: rules reading it judge nothing, as for a gateway device without it
  }
  return { site: reading.site, device: reading.device, profile: reading.profile, attributes };
}

function replay(
  records: readonly Reading[],
  set: RuleSet,
  devices: ReadonlyMap<string, DeviceContext>,
  options: BacktestOptions,
  end: number,
) {
  const engine = createRuleEngine({
    rules: set,
    unitOf: options.unitOf ?? (() => null),
    ...(options.rangeOf ? { rangeOf: options.rangeOf } : {}),
    ...(options.reportingIntervalOf ? { reportingIntervalOf: options.reportingIntervalOf } : {}),
    ...(options.cadenceOf ? { cadenceOf: options.cadenceOf } : {}),
  });
  const changes: VerdictChange[] = [];
  const known = new Map(devices);
  let late = 0;
  const start = records.length > 0 ? arrival(records[0] as Reading) : 0;
  for (const device of devices.values()) changes.push(...engine.registerDevice(device, start));
  const runClock = (until: number): void => {
    for (let due = engine.nextDueAt(); due !== null && due <= until; due = engine.nextDueAt()) changes.push(...engine.tick(due));
  };
  for (const reading of records) {
    runClock(arrival(reading));
    const key = `${reading.site}/${reading.device}`;
    let device = known.get(key);
    if (!device) {
      // its profile's defaults, worked out once
      device = unlisted(reading, options);
      known.set(key, device);
    }
    const outcome = engine.onReading(reading, device);
    if (outcome.late) late += 1;
    changes.push(...outcome.changes);
  }
  runClock(end);
  return { episodes: episodesOf(changes), late };
}

/** Raise-to-clear episodes from a stream of verdict changes (pending changes nothing). */
export function episodesOf(changes: readonly VerdictChange[]): AlarmEpisode[] {
  const open = new Map<string, AlarmEpisode>();
  const out: AlarmEpisode[] = [];
  for (const change of changes) {
    const verdict = change.verdict;
    if (verdict.status === 'pending') continue;
    const episode = open.get(change.key);
    if (verdict.status === 'true') {
      if (!episode) {
        const fresh: AlarmEpisode = {
          key: change.key,
          rule: change.rule,
          raisedAt: change.at,
          clearedAt: null,
          severity: verdict.severity,
          maxSeverity: verdict.severity,
          message: verdict.message,
        };
        open.set(change.key, fresh);
        out.push(fresh);
      } else if (compareSeverity(verdict.severity, episode.maxSeverity) > 0) {
        episode.maxSeverity = verdict.severity;
      }
    } else if (episode) {
      episode.clearedAt = change.at;
      open.delete(change.key);
    }
  }
  return out;
}

const overlaps = (a: AlarmEpisode, b: AlarmEpisode): boolean =>
  a.raisedAt <= (b.clearedAt ?? Number.POSITIVE_INFINITY) && b.raisedAt <= (a.clearedAt ?? Number.POSITIVE_INFINITY);

/** Pairs the episodes of both runs by key and overlap in time, and lists what differs. */
export function compareEpisodes(
  current: readonly AlarmEpisode[],
  candidate: readonly AlarmEpisode[],
  toleranceMs = 0,
): BacktestDifference[] {
  const out: BacktestDifference[] = [];
  const unmatched = new Set(candidate);
  for (const a of current) {
    const b = candidate.find((c) => unmatched.has(c) && c.key === a.key && overlaps(a, c));
    if (!b) {
      out.push({ type: 'only_current', key: a.key, episode: a });
      continue;
    }
    unmatched.delete(b);
    if (a.maxSeverity !== b.maxSeverity || a.severity !== b.severity) out.push({ type: 'severity', key: a.key, current: a, candidate: b });
    const raisedDeltaMs = b.raisedAt - a.raisedAt;
    const clearedDeltaMs = a.clearedAt === null || b.clearedAt === null ? null : b.clearedAt - a.clearedAt;
    const clearMismatch = (a.clearedAt === null) !== (b.clearedAt === null);
    if (Math.abs(raisedDeltaMs) > toleranceMs || (clearedDeltaMs !== null && Math.abs(clearedDeltaMs) > toleranceMs) || clearMismatch) {
      out.push({ type: 'timing', key: a.key, current: a, candidate: b, raisedDeltaMs, clearedDeltaMs });
    }
  }
  for (const b of unmatched) out.push({ type: 'only_candidate', key: b.key, episode: b });
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

/**
 * Replays recorded readings, in order of arrival and in virtual time (the clock jumps from one due timer
 * to the next between readings), through the current and a candidate rule set, and returns the alarm
 * episodes of each and their differences: raised by one only, severity, timing. Pure.
 *
 * @param devices the device contexts (attributes matter for thresholds); unknown devices get none
 */
export function backtest(
  records: readonly Reading[],
  currentSet: RuleSet,
  candidateSet: RuleSet,
  devices: Iterable<DeviceContext>,
  options: BacktestOptions = {},
): BacktestResult {
  const sorted = [...records].sort((a, b) => arrival(a) - arrival(b));
  const byKey = new Map<string, DeviceContext>();
  for (const d of devices) byKey.set(`${d.site}/${d.device}`, listed(d, options));
  const last = sorted.length > 0 ? arrival(sorted[sorted.length - 1] as Reading) : 0;
  const end = last + (options.tailMs ?? 0);
  const a = replay(sorted, currentSet, byKey, options, end);
  const b = replay(sorted, candidateSet, byKey, options, end);
  return {
    readings: sorted.length,
    late: a.late,
    from: sorted.length > 0 ? arrival(sorted[0] as Reading) : null,
    to: sorted.length > 0 ? end : null,
    current: a.episodes,
    candidate: b.episodes,
    differences: compareEpisodes(a.episodes, b.episodes, options.toleranceMs ?? 0),
  };
}
