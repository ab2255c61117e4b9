import { createDeadlineQueue, type DeadlineQueue } from './deadline-queue.js';
import { localClock, UTC_OFFSET_ATTRIBUTE, utcOffsetOf } from './derived/local-time.js';
import { type ExprEnv, evaluate } from './expression/evaluate.js';
import { RULE_REF_PREFIX } from './expression/parse-expression.js';
import { evaluateGroup, type GroupPoint, type GroupRule, type GroupWitness } from './kinds/group.js';
import {
  advance,
  type Delays,
  initialLevelState,
  type LevelState,
  levelDueAt,
  levelStateFrom,
  MOVE,
  resumeLevel,
} from './kinds/leveled.js';
import { type RuleDefinition, ruleKindOf } from './kinds/registry.js';
import { ownValue } from './own.js';
import type { DeviceContext, MetricValue, Reading } from './reading.js';
import type { MetricRange, RuleContext, RuleKind } from './rule-kind.js';
import { type DerivedValue, fingerprintOf, type RuleSet, rulesForDevice } from './rule-set.js';
import { compareSeverity, type Severity, severityRank } from './severity.js';
import { dependencyOrder, ruleRefsOf } from './validate-rule-set.js';
import type { ActiveVerdict, Verdict } from './verdict.js';

/** A rule whose verdict changed (status or severity), as the alarm lifecycle consumes it. */
export interface VerdictChange {
  /** `site/device/rule`; for group rules `site/_site/rule` or `site/<item>/rule`. */
  key: string;
  site: string;
  /** The device; for group rules `_site` or the monitoring item. */
  device: string;
  profile: string;
  rule: string;
  source: string;
  verdict: Verdict;
  at: number;
}

/** The pseudo-device of site-wide group rules. */
export const SITE_DEVICE = '_site';

/**
 * Version 3: each device also keeps what its cadence was learned from (`cadence`), and level states their
 * per-level onsets (`lv.since`). Version 2: the level fields of threshold, rate and window rules (`level`, `target`, `pendingSince`,
 * `pendingUp`, `latched`) are kept in `state.lv` (version 1 had them at the top of the state); version 1
 * snapshots are still restored.
 */
export const ENGINE_SNAPSHOT_VERSION = 3;

/** How many recent gaps between arrivals a device's cadence is learned from (their median). */
export const CADENCE_GAPS = 9;
/** Gaps shorter than this (or than half the profile's fastest cadence) are readings of one batch or burst, not the cadence. */
export const CADENCE_MIN_GAP_MS = 500;
/** A cadence is judged from this many gaps on; before, the slowest cadence the profile allows. */
export const CADENCE_LEARNED_AFTER = 2;

/** What a device's reporting cadence is learned from: when data last arrived and the recent gaps (ms). */
export interface CadenceState {
  last: number | null;
  gaps: number[];
}

/** The range of reporting intervals a profile allows, ms. */
export interface CadenceRange {
  minMs: number;
  maxMs: number;
}

export interface EngineSnapshot {
  version: 1 | 2 | 3;
  devices: Array<{
    context: DeviceContext;
    /** Version 3: what the device's cadence is learned from. */
    cadence?: CadenceState | undefined;
    latest: Record<string, MetricValue>;
    /** Time of the newest evaluated reading; null before the first. */
    lastTs: number | null;
    rules: Array<{
      id: string;
      /** Fingerprint of the definition the state belongs to: state of a changed rule is not restored. */
      fp?: string | undefined;
      state: unknown;
      status: Verdict['status'];
      severity: Severity | null;
      /** Severity of the last `true` verdict, kept while pending (what the alarm shows). */
      committed?: Severity | null | undefined;
    }>;
  }>;
  groups?: Array<{
    key: string;
    site: string;
    item: string | null;
    rule: string;
    fp: string;
    status: Verdict['status'];
    severity: Severity | null;
    /** Version 3: the group's level state (its own delays) and latest verdict. */
    lv?: unknown;
    latest?: ActiveVerdict | null | undefined;
  }>;
}

/** One device's part of a snapshot. */
export type DeviceSnapshot = EngineSnapshot['devices'][number];
/** One group rule slot of a snapshot. */
export type GroupSnapshot = NonNullable<EngineSnapshot['groups']>[number];

/**
 * What changed since the last `takeChanged`: the devices whose state moved and, per site, all its group slots
 * (an empty list: none left). Read (serialise) it before the engine runs again: it shares the engine's objects.
 */
export interface EngineChanges {
  devices: Array<{ key: string; state: DeviceSnapshot }>;
  sites: Array<{ site: string; groups: GroupSnapshot[] }>;
}

export interface ReadingOutcome {
  changes: VerdictChange[];
  /** The reading was older than one already evaluated for the device: stored, not evaluated. */
  late: boolean;
}

export interface RuleEngineDeps {
  rules: RuleSet;
  unitOf(profile: string, metric: string): string | null;
  /** Physical range of a metric, for range rules without min/max. */
  rangeOf?(profile: string, metric: string): MetricRange | null;
  /** Default reporting interval of a profile, ms, for silence rules (a device attribute `reportingIntervalMs` wins). */
  reportingIntervalOf?(profile: string): number | null;
  /**
   * The reporting intervals a profile allows. Given, the engine learns each device's cadence (the median of its
   * recent gaps between arrivals, bounded by this range; the slowest until it has seen two gaps) and silence rules
   * judge against it; a device attribute `reportingIntervalMs` still wins.
   */
  cadenceOf?(profile: string): CadenceRange | null;
}

export interface RuleEngine {
  onReading(reading: Reading, device: DeviceContext): ReadingOutcome;
  /** Makes a device known without data, so its silence rules run from `now` even if it never sends. */
  registerDevice(device: DeviceContext, now: number): VerdictChange[];
  /**
   * Registers many devices at once (start-up, a registry reload): the group and site rules of each site are
   * evaluated once at the end, not once per device, so a large site registers in linear time.
   */
  registerDevices(devices: Iterable<DeviceContext>, now: number): VerdictChange[];
  tick(now: number): VerdictChange[];
  nextDueAt(): number | null;
  /**
   * Swaps the rule set (validate it first): rules with the same id and definition keep their state; changed
   * rules start afresh; the alarms of removed and changed rules are cleared by the returned changes.
   */
  replaceRules(rules: RuleSet, now: number): VerdictChange[];
  snapshot(): EngineSnapshot;
  /**
   * The state that changed since the last call, device by device and site by site, for a store that saves only
   * what changed (in the same commit as the readings that changed it).
   */
  takeChanged(): EngineChanges;
  /**
   * Replaces all state. Rules not in the snapshot (or changed since) start afresh, armed at `now` when given.
   * `downMs`: how long the gateway was down since the snapshot; the kinds' timers do not count that time
   * (`onResume`). Returns the clears of alarms whose rule state was not restored (a rule changed or removed
   * meanwhile), as `replaceRules` would have.
   */
  restore(snapshot: EngineSnapshot, now?: number, downMs?: number): VerdictChange[];
  /**
   * A duty officer acknowledged the alarm of `key` (call it after the alarm book accepted the acknowledgement):
   * a rule latched until acknowledged (`latch: until_acknowledged`) is released, and clears now if its
   * condition has ended. Returns the changes to apply to the alarm book like any others.
   */
  acknowledge(key: string, now: number): VerdictChange[];
  /** Current verdicts, for inspection (API, tests). */
  verdicts(): Array<{ key: string; status: Verdict['status']; severity: Severity | null }>;
}

// biome-ignore lint/suspicious/noExplicitAny: kinds are erased in the registry
type AnyKind = RuleKind<any, any>;

interface RuleSlot {
  def: RuleDefinition;
  kind: AnyKind;
  key: string;
  state: unknown;
  status: Verdict['status'];
  severity: Severity | null;
  committed: Severity | null;
  /** The deadline this rule has in the queue (saves queue work when it did not move). */
  due: number | null;
  /** `rule.<id>`, when another rule of the device reads this rule's verdict; else null. */
  refName: string | null;
  /** This rule reads other rules' verdicts: re-evaluated when one of them changes. */
  reads: boolean;
}

interface DeviceSlot {
  key: string;
  context: DeviceContext;
  latest: Record<string, MetricValue>;
  lastTs: number;
  rules: RuleSlot[];
  byId: Map<string, RuleSlot>;
  ctx: RuleContext;
  derived: readonly DerivedValue[];
  /** A verdict that other rules of the device read changed: they are re-evaluated. */
  refChanged: boolean;
  cadence: CadenceState;
}

interface GroupDef {
  def: GroupRule;
  profile: string;
  fp: string;
  delays: Delays;
}

interface GroupSlot {
  key: string;
  site: string;
  item: string | null;
  group: GroupDef;
  status: Verdict['status'];
  severity: Severity | null;
  /** The committed severity and a move waiting for the group's own on-/off-delay. */
  lv: LevelState;
  /** The item's latest `true` verdict (its count and message). */
  latest: ActiveVerdict | null;
}

/** Deadline keys of group rules (device keys never start with `#`). */
const GROUP_DEADLINE = '#';

const deviceKey = (site: string, device: string): string => `${site}/${device}`;

/** Scratch for the median of a device's recent gaps (an insertion sort of at most CADENCE_GAPS: no allocation per reading). */
const GAPS = new Float64Array(16);

function median(values: readonly number[]): number {
  const n = values.length;
  for (let i = 0; i < n; i += 1) {
    const v = values[i] as number;
    let j = i - 1;
    while (j >= 0 && (GAPS[j] as number) > v) {
      GAPS[j + 1] = GAPS[j] as number;
      j -= 1;
    }
    GAPS[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? (GAPS[mid] as number) : ((GAPS[mid - 1] as number) + (GAPS[mid] as number)) / 2;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export function createRuleEngine(deps: RuleEngineDeps): RuleEngine {
  let rules = deps.rules;
  let deadlines: DeadlineQueue = createDeadlineQueue();
  const devices = new Map<string, DeviceSlot>();
  const bySite = new Map<string, Map<string, DeviceSlot>>();
  const sites = new Map<string, Set<DeviceSlot>>();
  const groupSlots = new Map<string, Map<string, GroupSlot>>();
  let groups: GroupDef[] = [];
  let memberRules = new Set<string>();
  let watchAll = false;
  let watchProfiles = new Set<string>();
  /** Devices and sites whose state changed since the last `takeChanged`. */
  const changedDevices = new Set<DeviceSlot>();
  const changedSites = new Set<string>();
  /** Per profile, the ids of rules whose verdicts other rules read (`rule.<id>`). */
  let referenced = new Map<string, Set<string>>();

  const indexRefs = (): void => {
    referenced = new Map();
    for (const [profile, defs] of rules) {
      for (const def of [...defs, ...(rules.overrides ?? []).filter((o) => o.profile === profile).map((o) => o.def)]) {
        for (const id of ruleRefsOf(def)) getOrCreate(referenced, profile, () => new Set<string>()).add(id);
      }
    }
  };
  indexRefs();

  const indexGroups = (): void => {
    groups = [];
    memberRules = new Set();
    watchAll = false;
    watchProfiles = new Set();
    for (const [profile, defs] of rules) {
      for (const def of defs) {
        if (def.kind !== 'group') continue;
        groups.push({ def, profile, fp: fingerprintOf(def), delays: { onDelay: def.onDelay, offDelay: def.offDelay } });
        for (const id of def.members.rules) memberRules.add(id);
        if (def.while?.profiles) for (const p of def.while.profiles) watchProfiles.add(p);
        else if (def.while) watchAll = true;
      }
    }
  };
  indexGroups();

  const intervalOf = (context: DeviceContext, cadence: CadenceState | null): number | null => {
    const own = context.attributes.reportingIntervalMs;
    if (typeof own === 'number' && own > 0) return own;
    const range = deps.cadenceOf?.(context.profile) ?? null;
    if (range === null) return deps.reportingIntervalOf?.(context.profile) ?? null;
    if (cadence === null || cadence.gaps.length < CADENCE_LEARNED_AFTER) return range.maxMs;
    return Math.min(range.maxMs, Math.max(range.minMs, median(cadence.gaps)));
  };

  /**
   * Data arrived at `at`: one more gap to learn the device's cadence from. Gaps shorter than half the profile's
   * fastest cadence are bursts (a batch, a state change, a cast at 1 Hz), not the cadence: not counted.
   */
  const learnCadence = (slot: DeviceSlot, at: number): void => {
    const range = deps.cadenceOf?.(slot.context.profile) ?? null;
    if (range === null) return;
    const cadence = slot.cadence;
    const last = cadence.last;
    cadence.last = last === null ? at : Math.max(last, at);
    if (last === null) return;
    const gap = at - last;
    if (gap < CADENCE_MIN_GAP_MS || gap < range.minMs / 2) return;
    cadence.gaps.push(gap);
    if (cadence.gaps.length > CADENCE_GAPS) cadence.gaps.shift();
    slot.ctx.reportingIntervalMs = intervalOf(slot.context, cadence);
  };

  const ruleSlotsFor = (slot: DeviceSlot): RuleSlot[] => {
    const defs = rulesForDevice(rules, slot.context.profile, slot.context.site, slot.context.device).filter((def) => def.kind !== 'group');
    const refs = referenced.get(slot.context.profile);
    // rules that read other rules' verdicts come after them (a circle is refused by validateRuleSet)
    return (refs ? (dependencyOrder(defs) ?? defs) : defs).map((def) => {
      const kind = ruleKindOf(def);
      return {
        def,
        kind,
        key: `${slot.key}/${def.id}`,
        state: kind.initialState(def),
        status: 'false',
        severity: null,
        committed: null,
        due: null,
        refName: refs?.has(def.id) ? `${RULE_REF_PREFIX}${def.id}` : null,
        reads: refs !== undefined && def.kind !== 'silence' && ruleRefsOf(def).length > 0,
      };
    });
  };

  const createSlot = (context: DeviceContext): DeviceSlot => {
    const key = deviceKey(context.site, context.device);
    const latest: Record<string, MetricValue> = {};
    const slot = {
      key,
      context,
      latest,
      lastTs: Number.NEGATIVE_INFINITY,
      rules: [],
      byId: new Map(),
      refChanged: false,
      cadence: { last: null, gaps: [] },
    } as unknown as DeviceSlot;
    const env: ExprEnv = {
      metric: (name) => slot.latest[name],
      attr: (name) => ownValue(slot.context.attributes, name),
      clock: (name) => {
        const offset = utcOffsetOf(ownValue(slot.context.attributes, UTC_OFFSET_ATTRIBUTE));
        return offset === null ? null : localClock(name, slot.ctx.now, offset);
      },
    };
    slot.ctx = {
      now: 0,
      arrivedAt: 0,
      device: context,
      latest,
      env,
      unitOf: (metric) => deps.unitOf(slot.context.profile, metric),
      rangeOf: (metric) => deps.rangeOf?.(slot.context.profile, metric) ?? null,
      reportingIntervalMs: intervalOf(context, null),
    };
    slot.derived = rules.derived?.get(context.profile) ?? [];
    devices.set(key, slot);
    changedDevices.add(slot);
    getOrCreate(bySite, context.site, () => new Map<string, DeviceSlot>()).set(context.device, slot);
    getOrCreate(sites, context.site, () => new Set<DeviceSlot>()).add(slot);
    return slot;
  };

  const setRules = (slot: DeviceSlot, list: RuleSlot[]): void => {
    slot.rules = list;
    slot.byId = new Map(list.map((r) => [r.def.id, r]));
    syncRefs(slot);
  };

  const syncRefs = (slot: DeviceSlot): void => {
    // what other rules read of a rule's verdict: its committed severity (0 none … 4 red); 0 for a rule not there
    for (const id of referenced.get(slot.context.profile) ?? []) {
      const rule = slot.byId.get(id);
      slot.latest[`${RULE_REF_PREFIX}${id}`] = severityRank(rule ? rule.committed : null);
    }
  };

  const updateContext = (slot: DeviceSlot, context: DeviceContext): void => {
    if (slot.context === context) return;
    slot.context = context;
    slot.ctx.device = context;
    slot.ctx.reportingIntervalMs = intervalOf(context, slot.cadence);
  };

  const at = (slot: DeviceSlot, now: number, arrivedAt: number): RuleContext => {
    slot.ctx.now = now;
    slot.ctx.arrivedAt = arrivedAt;
    slot.ctx.latest = slot.latest;
    return slot.ctx;
  };

  /** One rule's verdict at `when`, as the change the alarm lifecycle receives. */
  const changeOf = (slot: DeviceSlot, rule: RuleSlot, verdict: VerdictChange['verdict'], when: number): VerdictChange => ({
    key: rule.key,
    site: slot.context.site,
    device: slot.context.device,
    profile: slot.context.profile,
    rule: rule.def.id,
    source: rule.def.source,
    verdict,
    at: when,
  });

  const record = (slot: DeviceSlot, rule: RuleSlot, verdict: Verdict | undefined, when: number, out: VerdictChange[]): void => {
    changedDevices.add(slot);
    const due = rule.kind.dueAt(rule.def, rule.state);
    if (due !== rule.due) {
      if (due === null) deadlines.cancel(rule.key);
      else deadlines.schedule(rule.key, due);
      rule.due = due;
    }
    if (verdict === undefined) return;
    const severity = verdict.status === 'true' ? verdict.severity : null;
    if (verdict.status === rule.status && severity === rule.severity) return;
    // levels passed over on the way up in this same evaluation: each shown as its own transition first
    if (verdict.status === 'true' && verdict.crossed) {
      for (const step of verdict.crossed) {
        if (compareSeverity(step.severity, rule.committed) <= 0) continue;
        const { crossed: _, ...flat } = step;
        out.push(changeOf(slot, rule, flat, when));
      }
    }
    rule.status = verdict.status;
    rule.severity = severity;
    if (verdict.status !== 'pending' && rule.committed !== severity) {
      rule.committed = severity;
      if (rule.refName !== null) {
        slot.latest[rule.refName] = severityRank(severity);
        slot.refChanged = true;
      }
    }
    out.push(changeOf(slot, rule, verdict, when));
  };

  /** Re-evaluates the rules that read verdicts which changed, until nothing more changes (bounded). */
  const followUp = (slot: DeviceSlot, when: number, out: VerdictChange[]): void => {
    for (let round = 0; slot.refChanged && round < 8; round += 1) {
      slot.refChanged = false;
      const metrics: Record<string, MetricValue> = {};
      for (const rule of slot.rules) if (rule.refName !== null) metrics[rule.refName] = slot.latest[rule.refName] as MetricValue;
      const c = slot.context;
      const reading: Reading = { site: c.site, device: c.device, profile: c.profile, ts: when, receivedAt: when, metrics };
      const ctx = at(slot, when, when);
      for (const rule of slot.rules) if (rule.reads) record(slot, rule, rule.kind.onReading(rule.def, rule.state, reading, ctx), when, out);
    }
    slot.refChanged = false;
  };

  const register = (slot: DeviceSlot, now: number, out: VerdictChange[]): void => {
    const ctx = at(slot, now, now);
    for (const rule of slot.rules) record(slot, rule, rule.kind.onRegister?.(rule.def, rule.state, ctx), now, out);
    followUp(slot, now, out);
  };

  /** Whether the last `ensure` created the device (a flag, not a result object: the hot path allocates nothing). */
  let created = false;
  const ensure = (context: DeviceContext, now: number, out: VerdictChange[]): DeviceSlot => {
    // two lookups on existing strings instead of building "site/device" for every reading
    const existing = bySite.get(context.site)?.get(context.device);
    if (existing) {
      updateContext(existing, context);
      created = false;
      return existing;
    }
    const slot = createSlot(context);
    setRules(slot, ruleSlotsFor(slot));
    register(slot, now, out);
    created = true;
    return slot;
  };

  // ---- group rules: fed from the verdicts and latest values of the devices of one site ----

  const recordGroup = (site: string, item: string | null, group: GroupDef, verdict: Verdict, when: number, out: VerdictChange[]): void => {
    const device = item ?? SITE_DEVICE;
    const key = `${site}/${device}/${group.def.id}`;
    let slot = groupSlots.get(site)?.get(key);
    changedSites.add(site);
    const wanted = verdict.status === 'true' ? verdict.severity : null;
    if (!slot) {
      if (wanted === null) return;
      slot = { key, site, item, group, status: 'false', severity: null, lv: initialLevelState(), latest: null };
      getOrCreate(groupSlots, site, () => new Map<string, GroupSlot>()).set(key, slot);
    }
    if (verdict.status === 'true') slot.latest = verdict;
    // the group's own delays (members' delays come first: their verdicts feed it)
    const due = advance(slot.lv, wanted, when, group.delays);
    if (due === null) deadlines.cancel(GROUP_DEADLINE + key);
    else deadlines.schedule(GROUP_DEADLINE + key, due);
    const level = slot.lv.level;
    let shown: Verdict;
    if (due !== null && !MOVE.entered) shown = { status: 'pending', dueAt: due };
    else if (level === null) shown = { status: 'false' };
    else shown = slot.latest && slot.latest.severity !== level ? { ...slot.latest, severity: level } : (slot.latest ?? verdict);
    const severity = shown.status === 'true' ? shown.severity : null;
    if (slot.status !== shown.status || slot.severity !== severity) {
      slot.status = shown.status;
      slot.severity = severity;
      out.push({ key, site, device, profile: group.profile, rule: group.def.id, source: group.def.source, verdict: shown, at: when });
    }
    if (shown.status === 'false') groupSlots.get(site)?.delete(key);
  };

  const evaluateSite = (site: string, when: number, out: VerdictChange[]): void => {
    const members = sites.get(site);
    if (!members) return;
    for (const group of groups) {
      const { def } = group;
      const byItem = new Map<string | null, GroupPoint[]>();
      const witnesses: GroupWitness[] = [];
      for (const slot of members) {
        if (def.while) witnesses.push({ profile: slot.context.profile, env: slot.ctx.env });
        if (def.members.profiles && !def.members.profiles.includes(slot.context.profile)) continue;
        let member = false;
        let severity: Severity | null = null;
        for (const id of def.members.rules) {
          const rule = slot.byId.get(id);
          if (!rule) continue;
          member = true;
          if (compareSeverity(rule.committed, severity) > 0) severity = rule.committed;
        }
        if (!member) continue;
        let item: string | null = null;
        if (def.groupBy !== undefined) {
          const raw = ownValue(slot.context.attributes, def.groupBy);
          if (raw === undefined) continue;
          item = String(raw);
        }
        const points = byItem.get(item) ?? [];
        points.push({ device: slot.context.device, severity });
        byItem.set(item, points);
      }
      for (const [item, points] of byItem) recordGroup(site, item, group, evaluateGroup(def, item, points, witnesses), when, out);
      for (const slot of [...(groupSlots.get(site)?.values() ?? [])]) {
        if (slot.group === group && !byItem.has(slot.item)) recordGroup(site, slot.item, group, { status: 'false' }, when, out);
      }
    }
  };

  const groupsAfter = (changes: readonly VerdictChange[], from: number, when: number, extraSite: string | null): void => {
    if (groups.length === 0) return;
    const touched = new Set<string>();
    if (extraSite !== null) touched.add(extraSite);
    for (let i = from; i < changes.length; i += 1) {
      const change = changes[i] as VerdictChange;
      if (memberRules.has(change.rule)) touched.add(change.site);
    }
    for (const site of touched) evaluateSite(site, when, changes as VerdictChange[]);
  };

  const clearChange = (
    key: string,
    site: string,
    device: string,
    profile: string,
    rule: string,
    source: string,
    when: number,
  ): VerdictChange => ({
    key,
    site,
    device,
    profile,
    rule,
    source,
    verdict: { status: 'false' },
    at: when,
  });

  const deviceSnapshotOf = (slot: DeviceSlot): DeviceSnapshot => ({
    context: slot.context,
    cadence: slot.cadence,
    latest: slot.latest,
    lastTs: Number.isFinite(slot.lastTs) ? slot.lastTs : null,
    rules: slot.rules.map((r) => ({
      id: r.def.id,
      fp: fingerprintOf(r.def),
      state: r.state,
      status: r.status,
      severity: r.severity,
      committed: r.committed,
    })),
  });

  const groupSnapshotOf = (g: GroupSlot): GroupSnapshot => ({
    key: g.key,
    site: g.site,
    item: g.item,
    rule: g.group.def.id,
    fp: g.group.fp,
    status: g.status,
    severity: g.severity,
    lv: g.lv,
    latest: g.latest,
  });

  return {
    onReading(reading, device) {
      const changes: VerdictChange[] = [];
      const arrivedAt = reading.receivedAt ?? reading.ts;
      const slot = ensure(device, arrivedAt, changes);
      learnCadence(slot, arrivedAt);
      if (reading.ts < slot.lastTs) {
        const ctx = at(slot, reading.ts, arrivedAt);
        for (const rule of slot.rules) {
          if (rule.kind.onLateReading) record(slot, rule, rule.kind.onLateReading(rule.def, rule.state, reading, ctx), arrivedAt, changes);
        }
        followUp(slot, arrivedAt, changes);
        groupsAfter(changes, 0, arrivedAt, null);
        return { changes, late: true };
      }
      slot.lastTs = reading.ts;
      const latest = slot.latest;
      for (const name in reading.metrics) latest[name] = reading.metrics[name] as MetricValue;
      let seen = reading;
      if (slot.derived.length > 0) {
        const metrics = { ...reading.metrics };
        for (const d of slot.derived) {
          const value = evaluate(d.expression.ast, slot.ctx.env);
          if (value === null) continue;
          latest[d.name] = value;
          metrics[d.name] = value;
        }
        seen = { ...reading, metrics };
      }
      const ctx = at(slot, reading.ts, arrivedAt);
      for (const rule of slot.rules) record(slot, rule, rule.kind.onReading(rule.def, rule.state, seen, ctx), reading.ts, changes);
      if (slot.refChanged) followUp(slot, reading.ts, changes);
      const watched = groups.length > 0 && (created || watchAll || watchProfiles.has(slot.context.profile));
      groupsAfter(changes, 0, reading.ts, watched ? slot.context.site : null);
      return { changes, late: false };
    },

    registerDevice(device, now) {
      const changes: VerdictChange[] = [];
      const slot = ensure(device, now, changes);
      groupsAfter(changes, 0, now, created ? slot.context.site : null);
      return changes;
    },

    registerDevices(contexts, now) {
      const changes: VerdictChange[] = [];
      const newSites = new Set<string>();
      for (const context of contexts) {
        const slot = ensure(context, now, changes);
        if (created) newSites.add(slot.context.site);
      }
      if (groups.length > 0) {
        for (const change of changes) if (memberRules.has(change.rule)) newSites.add(change.site);
        for (const site of newSites) evaluateSite(site, now, changes);
      }
      return changes;
    },

    tick(now) {
      const changes: VerdictChange[] = [];
      const follow: DeviceSlot[] = [];
      const groupSites = new Set<string>();
      for (const key of deadlines.popDue(now)) {
        if (key.startsWith(GROUP_DEADLINE)) {
          groupSites.add(key.slice(GROUP_DEADLINE.length, key.indexOf('/')));
          continue;
        }
        const cut = key.lastIndexOf('/');
        const slot = devices.get(key.slice(0, cut));
        const rule = slot?.byId.get(key.slice(cut + 1));
        if (!slot || !rule) continue;
        rule.due = null;
        record(slot, rule, rule.kind.onTick(rule.def, rule.state, at(slot, now, now)), now, changes);
        if (slot.refChanged) follow.push(slot);
      }
      for (const slot of follow) followUp(slot, now, changes);
      groupsAfter(changes, 0, now, null);
      // a group's own delay ran out: its sites are judged again (groupsAfter may have done so already)
      for (const site of groupSites) evaluateSite(site, now, changes);
      return changes;
    },

    acknowledge(key, now) {
      const changes: VerdictChange[] = [];
      const cut = key.lastIndexOf('/');
      const slot = devices.get(key.slice(0, cut));
      const rule = slot?.byId.get(key.slice(cut + 1));
      if (!slot || !rule?.kind.onAcknowledge) return changes;
      record(slot, rule, rule.kind.onAcknowledge(rule.def, rule.state, at(slot, now, now)), now, changes);
      followUp(slot, now, changes);
      groupsAfter(changes, 0, now, null);
      return changes;
    },

    nextDueAt: () => deadlines.nextDueAt(),

    replaceRules(next, now) {
      const changes: VerdictChange[] = [];
      rules = next;
      indexRefs();
      for (const slot of devices.values()) {
        const old = slot.byId;
        const fresh = ruleSlotsFor(slot);
        const kept: RuleSlot[] = [];
        for (const rule of fresh) {
          const before = old.get(rule.def.id);
          if (before && fingerprintOf(before.def) === fingerprintOf(rule.def)) {
            before.def = rule.def;
            // a kept rule takes this set's view of who reads it
            before.refName = rule.refName;
            before.reads = rule.reads;
            kept.push(before);
            continue;
          }
          kept.push(rule);
        }
        const keep = new Set(kept);
        for (const rule of old.values()) {
          if (keep.has(rule)) continue;
          deadlines.cancel(rule.key);
          rule.due = null;
          if (rule.status !== 'false') {
            const c = slot.context;
            changes.push(clearChange(rule.key, c.site, c.device, c.profile, rule.def.id, rule.def.source, now));
          }
        }
        setRules(slot, kept);
        slot.derived = rules.derived?.get(slot.context.profile) ?? [];
        const ctx = at(slot, now, now);
        for (const rule of kept) {
          if (old.get(rule.def.id) === rule) continue;
          record(slot, rule, rule.kind.onRegister?.(rule.def, rule.state, ctx), now, changes);
        }
        slot.refChanged = true;
        followUp(slot, now, changes);
      }
      const previous = new Map(groups.map((g) => [`${g.profile}/${g.def.id}`, g]));
      indexGroups();
      const current = new Map(groups.map((g) => [`${g.profile}/${g.def.id}`, g]));
      for (const [site, slots] of groupSlots) {
        for (const slot of [...slots.values()]) {
          const id = `${slot.group.profile}/${slot.group.def.id}`;
          const successor = current.get(id);
          if (successor && successor.fp === slot.group.fp) {
            slot.group = successor;
            continue;
          }
          slots.delete(slot.key);
          changedSites.add(site);
          deadlines.cancel(GROUP_DEADLINE + slot.key);
          if (previous.has(id) && slot.status !== 'false') {
            changes.push(
              clearChange(slot.key, site, slot.item ?? SITE_DEVICE, slot.group.profile, slot.group.def.id, slot.group.def.source, now),
            );
          }
        }
      }
      for (const site of sites.keys()) evaluateSite(site, now, changes);
      return changes;
    },

    snapshot() {
      const groupList: GroupSnapshot[] = [];
      for (const slots of groupSlots.values()) for (const g of slots.values()) groupList.push(groupSnapshotOf(g));
      return structuredClone({
        version: ENGINE_SNAPSHOT_VERSION as 3,
        devices: [...devices.values()].map(deviceSnapshotOf),
        groups: groupList,
      });
    },

    takeChanged() {
      const out: EngineChanges = { devices: [], sites: [] };
      for (const slot of changedDevices) out.devices.push({ key: slot.key, state: deviceSnapshotOf(slot) });
      for (const site of changedSites) out.sites.push({ site, groups: [...(groupSlots.get(site)?.values() ?? [])].map(groupSnapshotOf) });
      changedDevices.clear();
      changedSites.clear();
      return out;
    },

    restore(snapshot, now, downMs = 0) {
      if (snapshot.version !== 1 && snapshot.version !== 2 && snapshot.version !== ENGINE_SNAPSHOT_VERSION) {
        throw new Error(`engine snapshot version ${String(snapshot.version)} is not supported (1 to ${ENGINE_SNAPSHOT_VERSION})`);
      }
      devices.clear();
      bySite.clear();
      sites.clear();
      groupSlots.clear();
      deadlines = createDeadlineQueue();
      const copy = structuredClone(snapshot);
      const clears: VerdictChange[] = [];
      const when = now ?? 0;
      for (const saved of copy.devices) {
        const slot = createSlot(saved.context);
        if (saved.cadence) {
          slot.cadence = { last: saved.cadence.last, gaps: [...saved.cadence.gaps] };
          slot.ctx.reportingIntervalMs = intervalOf(slot.context, slot.cadence);
        }
        slot.latest = saved.latest;
        slot.lastTs = saved.lastTs ?? Number.NEGATIVE_INFINITY;
        const list = ruleSlotsFor(slot);
        setRules(slot, list);
        const ctx = at(slot, now ?? 0, now ?? 0);
        for (const rule of list) {
          const old = saved.rules.find((r) => r.id === rule.def.id);
          if (old && (old.fp === undefined || old.fp === fingerprintOf(rule.def))) {
            rule.state = rule.kind.restoreState ? rule.kind.restoreState(rule.def, old.state) : old.state;
            rule.status = old.status;
            rule.severity = old.severity;
            rule.committed = old.committed !== undefined ? old.committed : old.status === 'true' ? old.severity : null;
            if (downMs > 0) rule.kind.onResume?.(rule.def, rule.state, downMs);
            record(slot, rule, undefined, 0, []);
          } else if (now !== undefined) {
            record(slot, rule, rule.kind.onRegister?.(rule.def, rule.state, ctx), now, []);
          }
        }
        // state of a rule that changed or went away meanwhile is not restored: its alarm clears, as on a reload
        for (const old of saved.rules) {
          const rule = slot.byId.get(old.id);
          const restored = rule !== undefined && (old.fp === undefined || old.fp === fingerprintOf(rule.def));
          if (restored || old.status === 'false') continue;
          const c = slot.context;
          clears.push(clearChange(`${slot.key}/${old.id}`, c.site, c.device, c.profile, old.id, rule?.def.source ?? 'rules', when));
        }
        syncRefs(slot);
        slot.refChanged = false;
      }
      const byId = new Map(groups.map((g) => [`${g.def.id}`, g]));
      for (const g of copy.groups ?? []) {
        const group = byId.get(g.rule);
        if (!group || group.fp !== g.fp) {
          if (g.status !== 'false') {
            const device = g.item ?? SITE_DEVICE;
            clears.push(clearChange(g.key, g.site, device, group?.profile ?? '', g.rule, group?.def.source ?? 'rules', when));
          }
          continue;
        }
        // older snapshots have no level state: the committed severity is what was shown
        const lv = levelStateFrom(g.lv ?? { level: g.status === 'true' ? g.severity : null });
        if (downMs > 0) resumeLevel(lv, downMs);
        getOrCreate(groupSlots, g.site, () => new Map<string, GroupSlot>()).set(g.key, {
          key: g.key,
          site: g.site,
          item: g.item,
          group,
          status: g.status,
          severity: g.severity,
          lv,
          latest: g.latest ?? null,
        });
        const due = levelDueAt(lv, group.delays);
        if (due !== null) deadlines.schedule(GROUP_DEADLINE + g.key, due);
      }
      changedDevices.clear();
      changedSites.clear();
      return clears;
    },

    verdicts() {
      const out: Array<{ key: string; status: Verdict['status']; severity: Severity | null }> = [];
      for (const slot of devices.values())
        for (const rule of slot.rules) out.push({ key: rule.key, status: rule.status, severity: rule.severity });
      for (const slots of groupSlots.values())
        for (const g of slots.values()) out.push({ key: g.key, status: g.status, severity: g.severity });
      return out;
    },
  };
}
