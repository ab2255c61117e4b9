import { createDeadlineQueue, type DeadlineQueue } from './deadline-queue.js';
import { localClock, UTC_OFFSET_ATTRIBUTE, utcOffsetOf } from './derived/local-time.js';
import {
  CADENCE_GAPS,
  CADENCE_LEARNED_AFTER,
  CADENCE_MIN_GAP_MS,
  type CadenceRange,
  type CadenceState,
  medianGap,
} from './engine/cadence.js';
import { createEngineSnapshots, type EngineChanges, type EngineSnapshot } from './engine/engine-snapshot.js';
import { getOrCreate } from './engine/get-or-create.js';
import { createSiteGroups } from './engine/site-groups.js';
import { clearChange, type VerdictChange } from './engine/verdict-change.js';
import { withInhibits } from './engine/with-inhibits.js';
import { type ExprEnv, evaluate } from './expression/evaluate.js';
import { RULE_REF_PREFIX } from './expression/parse-expression.js';
import { type RuleDefinition, ruleKindOf } from './kinds/registry.js';
import { ownValue } from './own.js';
import { countedAt, type DeviceContext, type MetricValue, type Reading } from './reading.js';
import { type MetricRange, outsideRange, type RuleContext } from './rule-kind.js';
import { type DerivedValue, fingerprintOf, type RuleSet, rulesForDevice } from './rule-set.js';
import { compareSeverity, type Severity, severityRank } from './severity.js';
import { dependencyOrder, ruleRefsOf } from './validate-rule-set.js';
import type { Verdict } from './verdict.js';

export { CADENCE_GAPS, CADENCE_LEARNED_AFTER, CADENCE_MIN_GAP_MS, type CadenceRange, type CadenceState } from './engine/cadence.js';
export {
  type DeviceSnapshot,
  ENGINE_SNAPSHOT_VERSION,
  type EngineChanges,
  type EngineSnapshot,
  type GroupSnapshot,
} from './engine/engine-snapshot.js';
export { SITE_DEVICE } from './engine/site-groups.js';
export type { VerdictChange } from './engine/verdict-change.js';

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

/** Publishes of one device that the gateway held: received from `since` on, judged by `until`. */
export interface DeviceHold {
  site: string;
  device: string;
  since: number;
  until: number;
  /**
   * Not publishes: the device's CONNECT, held from `since` to `until` (the gateway's admission while its lane is
   * behind). The device was alive and trying to report, with no arrival of its own, so every silence clock of it
   * counts from `until`.
   */
  connecting?: boolean | undefined;
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
  /**
   * The gateway held publishes of these devices (received from `since` on) until `until`, and has judged them by
   * now: their silence timers count from `until` (`onHeld`), so a device whose data waited in a lane that fell
   * behind (a reconnect storm) is not judged silent for the gateway's own delay. Call before `tick`. Devices not
   * known here are skipped. Not listed by `takeChanged` for this alone (a storm holds every device at every tick):
   * a device so moved is saved with its next change.
   */
  held(holds: Iterable<DeviceHold>): void;
  nextDueAt(): number | null;
  /**
   * Swaps the rule set (validate it first): rules with the same id and definition keep their state; changed
   * rules start afresh; the alarms of removed and changed rules are cleared by the returned changes.
   */
  replaceRules(rules: RuleSet, now: number): VerdictChange[];
  snapshot(): EngineSnapshot;
  /**
   * The state that changed since the last call, device by device and site by site, for a store that saves only
   * what changed (in the same commit as the readings that changed it). Devices for which `defer` says true are only
   * listed (`deferred`): the caller saves them later (`deviceStates`), and can replay what moved them meanwhile.
   */
  takeChanged(defer?: (key: string) => boolean): EngineChanges;
  /** The saved form of these devices (`site/device` keys) as they are now; keys not known are left out. */
  deviceStates(keys: Iterable<string>): EngineChanges['devices'];
  /** Whether a reading of this profile can change a group verdict by itself (a group's `while` reads it). */
  groupsWatch(profile: string): boolean;
  /**
   * Replaces all state. Rules not in the snapshot (or changed since) start afresh, armed at `now` when given.
   * `downMs`: how long the gateway was down since the snapshot; the kinds' timers do not count that time
   * (`onResume`). Returns the clears of alarms whose rule state was not restored (a rule changed or removed
   * meanwhile), as `replaceRules` would have.
   */
  restore(snapshot: EngineSnapshot, now?: number, downMs?: number): VerdictChange[];
  /**
   * The host's wall clock was stepped by `deltaMs` (NTP setting it, a virtual machine resumed): no time passed for
   * the rules. Their timers — silence, on- and off-delays, expectations' deadlines, the cadence being learnt — move
   * with the clock, as over a restart's downtime (`onResume`): a step forward raises no silence of every device, a
   * step back does not hold a silence or delay back by the step. Every device's state is saved again.
   */
  shiftClock(deltaMs: number): void;
  /**
   * A duty officer acknowledged the alarm of `key` (call it after the alarm book accepted the acknowledgement):
   * a rule latched until acknowledged (`latch: until_acknowledged`) is released, and clears now if its
   * condition has ended. Returns the changes to apply to the alarm book like any others.
   */
  acknowledge(key: string, now: number): VerdictChange[];
  /** Current verdicts, for inspection (API, tests). */
  verdicts(): Array<{ key: string; status: Verdict['status']; severity: Severity | null }>;
  /**
   * Forgets the devices of these sites, their rule state and timers, and the sites' group state (the sites went
   * to another gateway node). No verdict changes: the node that takes them judges them from then on. The next
   * `takeChanged` lists the forgotten devices. Registering them again later starts them afresh.
   */
  forgetSites(sites: Iterable<string>): void;
  /**
   * Retires the devices for which `registered` (their `site/device` key) says false: taken out of the registry, or
   * moved to another site, since the state was saved. Their alarms clear (the returned changes, their sites' groups
   * judged again), their state and timers are forgotten, and the next `takeChanged` lists them: a device no reading can
   * come from is not judged silent after every restart.
   */
  retireDevices(registered: (key: string) => boolean, now: number): VerdictChange[];
  /**
   * Takes over sites another gateway node judged, from its saved state (`snapshot`: their devices and group slots,
   * as `takeChanged` gave them), as `restore` would, beside the sites held here; state held here of those sites goes
   * first. `downMs`: how long no node judged them (their timers do not count it). Devices of the sites not in the
   * snapshot are not registered: call `registerDevices` for the site's devices after. Returns the clears of alarms
   * whose rule changed or went away meanwhile.
   */
  adoptSites(snapshot: EngineSnapshot, now: number, downMs: number): VerdictChange[];
}

interface RuleSlot {
  def: RuleDefinition;
  kind: ReturnType<typeof ruleKindOf>;
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

/** A device's key in the engine (`takeChanged`, `deviceStates`, saved state): `site/device`. */
export const deviceKey = (site: string, device: string): string => `${site}/${device}`;

export function createRuleEngine(deps: RuleEngineDeps): RuleEngine {
  let rules = deps.rules;
  let deadlines: DeadlineQueue = createDeadlineQueue();
  const devices = new Map<string, DeviceSlot>();
  const bySite = new Map<string, Map<string, DeviceSlot>>();
  const sites = new Map<string, Set<DeviceSlot>>();
  /** Devices whose state changed since the last `takeChanged`. */
  const changedDevices = new Set<DeviceSlot>();
  /** Keys of devices forgotten since the last `takeChanged` (`forgetSites`). */
  const forgotten = new Set<string>();
  const siteGroups = createSiteGroups(rules, { sites, deadlines: () => deadlines });
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

  const intervalOf = (context: DeviceContext, cadence: CadenceState | null): number | null => {
    const own = context.attributes.reportingIntervalMs;
    if (typeof own === 'number' && own > 0) return own;
    const range = deps.cadenceOf?.(context.profile) ?? null;
    if (range === null) return deps.reportingIntervalOf?.(context.profile) ?? null;
    if (cadence === null || cadence.gaps.length < CADENCE_LEARNED_AFTER) return range.maxMs;
    return Math.min(range.maxMs, Math.max(range.minMs, medianGap(cadence.gaps)));
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
      unitOf: (metric) => deps.unitOf(slot.context.profile, metric) ?? slot.derived.find((d) => d.name === metric)?.unit ?? null,
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

  /** Takes the device's context from the registry; true when it is a new one (its attributes may have changed). */
  const updateContext = (slot: DeviceSlot, context: DeviceContext): boolean => {
    if (slot.context === context) return false;
    slot.context = context;
    slot.ctx.device = context;
    slot.ctx.reportingIntervalMs = intervalOf(context, slot.cadence);
    return true;
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
    ...withInhibits(rule.def),
  });

  /** Moves the rule's deadline in the queue to where its state now puts it. */
  const reschedule = (rule: RuleSlot): void => {
    const due = rule.kind.dueAt(rule.def, rule.state);
    if (due === rule.due) return;
    if (due === null) deadlines.cancel(rule.key);
    else deadlines.schedule(rule.key, due);
    rule.due = due;
  };

  const record = (slot: DeviceSlot, rule: RuleSlot, verdict: Verdict | undefined, when: number, out: VerdictChange[]): void => {
    changedDevices.add(slot);
    reschedule(rule);
    if (verdict === undefined) return;
    const severity = verdict.status === 'true' ? verdict.severity : null;
    if (verdict.status === rule.status && severity === rule.severity) return;
    if (rule.def.alarm === false) {
      // a condition without an alarm: kept for the rules that read it, its change told only to its site's groups
      commit(slot, rule, verdict);
      siteGroups.touch(slot.context.site, rule.def.id);
      return;
    }
    // levels passed over on the way up in this same evaluation: each shown as its own transition first
    if (verdict.status === 'true' && verdict.crossed) {
      for (const step of verdict.crossed) {
        if (compareSeverity(step.severity, rule.committed) <= 0) continue;
        const { crossed: _, ...flat } = step;
        out.push(changeOf(slot, rule, flat, when));
      }
    }
    commit(slot, rule, verdict);
    out.push(changeOf(slot, rule, verdict, when));
  };

  /** Takes a rule's new verdict as its status and, once settled, as the severity groups and `rule.<id>` read. */
  const commit = (slot: DeviceSlot, rule: RuleSlot, verdict: Verdict): void => {
    const severity = verdict.status === 'true' ? verdict.severity : null;
    rule.status = verdict.status;
    rule.severity = severity;
    if (verdict.status !== 'pending' && rule.committed !== severity) {
      rule.committed = severity;
      if (rule.refName !== null) {
        slot.latest[rule.refName] = severityRank(severity);
        slot.refChanged = true;
      }
    }
  };

  /** Whether a metric the derived value reads is outside its sensor's physical range now (the `range` kind's fault). */
  const faultyInput = (slot: DeviceSlot, d: DerivedValue): boolean => {
    for (const name of d.expression.metrics) {
      const value = slot.latest[name];
      if (typeof value !== 'number') continue;
      if (outsideRange(slot.ctx.rangeOf(name), value)) return true;
    }
    return false;
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

  /**
   * Whether the last `ensure` created the device or gave it a new context (a registry reload: its groupBy item or
   * other attributes may have changed), so that its site's group rules must be judged again (a flag, not a result
   * object: the hot path allocates nothing).
   */
  let created = false;
  const ensure = (context: DeviceContext, now: number, out: VerdictChange[]): DeviceSlot => {
    // two lookups on existing strings instead of building "site/device" for every reading
    const existing = bySite.get(context.site)?.get(context.device);
    if (existing) {
      created = updateContext(existing, context);
      return existing;
    }
    const slot = createSlot(context);
    setRules(slot, ruleSlotsFor(slot));
    register(slot, now, out);
    created = true;
    return slot;
  };

  /** Forgets a device slot and its deadlines (its site's indexes are the caller's). */
  const dropSlot = (slot: DeviceSlot): void => {
    for (const rule of slot.rules) deadlines.cancel(rule.key);
    devices.delete(slot.key);
    changedDevices.delete(slot);
  };

  /** Forgets a site's device slots and their deadlines; returns them. */
  const dropSite = (site: string): DeviceSlot[] => {
    const slots = [...(sites.get(site) ?? [])];
    for (const slot of slots) dropSlot(slot);
    sites.delete(site);
    bySite.delete(site);
    return slots;
  };

  const snapshots = createEngineSnapshots<DeviceSlot>({
    devices,
    changedDevices,
    groups: siteGroups,
    clear: () => {
      devices.clear();
      bySite.clear();
      sites.clear();
      siteGroups.clear();
      deadlines = createDeadlineQueue();
    },
    addDevice: (saved) => {
      const slot = createSlot(saved.context);
      if (saved.cadence) {
        slot.cadence = { last: saved.cadence.last, gaps: [...saved.cadence.gaps] };
        slot.ctx.reportingIntervalMs = intervalOf(slot.context, slot.cadence);
      }
      slot.latest = saved.latest;
      slot.lastTs = saved.lastTs ?? Number.NEGATIVE_INFINITY;
      setRules(slot, ruleSlotsFor(slot));
      return slot;
    },
    contextAt: (slot, now) => at(slot, now, now),
    record: (slot, rule, verdict, when) => record(slot, rule, verdict, when, []),
    settle: (slot) => {
      syncRefs(slot);
      slot.refChanged = false;
    },
  });

  return {
    onReading(stamped, device) {
      const changes: VerdictChange[] = [];
      const arrivedAt = stamped.receivedAt ?? stamped.ts;
      // judged at its arrival if stamped ahead of it: else one stamped minutes ahead makes every reading after it late
      const ts = countedAt(stamped.ts, arrivedAt);
      const reading = ts === stamped.ts ? stamped : { ...stamped, ts };
      const slot = ensure(device, arrivedAt, changes);
      learnCadence(slot, arrivedAt);
      if (reading.ts < slot.lastTs) {
        const ctx = at(slot, reading.ts, arrivedAt);
        for (const rule of slot.rules) {
          if (rule.kind.onLateReading) record(slot, rule, rule.kind.onLateReading(rule.def, rule.state, reading, ctx), arrivedAt, changes);
        }
        followUp(slot, arrivedAt, changes);
        siteGroups.evaluateAfter(changes, arrivedAt, created ? slot.context.site : null);
        return { changes, late: true };
      }
      slot.lastTs = reading.ts;
      const latest = slot.latest;
      for (const name in reading.metrics) latest[name] = reading.metrics[name] as MetricValue;
      let seen = reading;
      if (slot.derived.length > 0) {
        const metrics = { ...reading.metrics };
        for (const d of slot.derived) {
          if (faultyInput(slot, d)) {
            // from a sensor in fault (a dead GNSS receiver's 50 m): not derived, and what was is no longer known
            delete latest[d.name];
            continue;
          }
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
      const watched = created || siteGroups.watches(slot.context.profile);
      siteGroups.evaluateAfter(changes, reading.ts, watched ? slot.context.site : null);
      return { changes, late: false };
    },

    registerDevice(device, now) {
      const changes: VerdictChange[] = [];
      const slot = ensure(device, now, changes);
      siteGroups.evaluateAfter(changes, now, created ? slot.context.site : null);
      return changes;
    },

    registerDevices(contexts, now) {
      const changes: VerdictChange[] = [];
      const newSites = new Set<string>();
      for (const context of contexts) {
        const slot = ensure(context, now, changes);
        if (created) newSites.add(slot.context.site);
      }
      siteGroups.evaluateAfterAll(changes, now, newSites);
      return changes;
    },

    tick(now) {
      const changes: VerdictChange[] = [];
      const follow: DeviceSlot[] = [];
      const groupSites = new Set<string>();
      for (const key of deadlines.popDue(now)) {
        const site = siteGroups.dueSite(key);
        if (site !== null) {
          groupSites.add(site);
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
      siteGroups.evaluateAfter(changes, now, null);
      // a group's own delay ran out: its sites are judged again (evaluateAfter may have done so already)
      for (const site of groupSites) siteGroups.evaluateSite(site, now, changes);
      return changes;
    },

    held(holds) {
      for (const hold of holds) {
        const slot = devices.get(deviceKey(hold.site, hold.device));
        if (!slot) continue;
        for (const rule of slot.rules) {
          if (!rule.kind.onHeld) continue;
          rule.kind.onHeld(rule.def, rule.state, hold.since, hold.until, hold.connecting === true);
          // not saved for this alone: a storm holds every device at every tick, and the device's next reading
          // (or the next change of its state) saves it
          reschedule(rule);
        }
      }
    },

    acknowledge(key, now) {
      const changes: VerdictChange[] = [];
      const cut = key.lastIndexOf('/');
      const slot = devices.get(key.slice(0, cut));
      const rule = slot?.byId.get(key.slice(cut + 1));
      if (!slot || !rule?.kind.onAcknowledge) return changes;
      record(slot, rule, rule.kind.onAcknowledge(rule.def, rule.state, at(slot, now, now)), now, changes);
      followUp(slot, now, changes);
      siteGroups.evaluateAfter(changes, now, null);
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
      siteGroups.replaceRules(next, now, changes);
      return changes;
    },

    snapshot: snapshots.snapshot,
    deviceStates: snapshots.deviceStates,
    groupsWatch: (profile) => siteGroups.watches(profile),
    takeChanged(defer) {
      const out = snapshots.takeChanged(defer);
      if (forgotten.size > 0) {
        out.forgotten = [...forgotten];
        forgotten.clear();
      }
      return out;
    },
    forgetSites(list) {
      for (const site of list) {
        for (const slot of dropSite(site)) forgotten.add(slot.key);
        siteGroups.forgetSite(site);
      }
    },
    retireDevices(registered, now) {
      const changes: VerdictChange[] = [];
      const touched = new Set<string>();
      for (const slot of [...devices.values()]) {
        if (registered(slot.key)) continue;
        const { site, device } = slot.context;
        for (const rule of slot.rules) if (rule.status === 'true') changes.push(changeOf(slot, rule, { status: 'false' }, now));
        dropSlot(slot);
        sites.get(site)?.delete(slot);
        bySite.get(site)?.delete(device);
        forgotten.add(slot.key);
        touched.add(site);
      }
      siteGroups.evaluateAfterAll(changes, now, touched);
      return changes;
    },
    adoptSites(snapshot, now, downMs) {
      const adopted = new Set([...snapshot.devices.map((d) => d.context.site), ...(snapshot.groups ?? []).map((g) => g.site)]);
      for (const site of adopted) {
        dropSite(site);
        siteGroups.forgetSite(site);
      }
      for (const saved of snapshot.devices) forgotten.delete(deviceKey(saved.context.site, saved.context.device));
      return snapshots.adopt(snapshot, now, downMs);
    },
    restore: snapshots.restore,

    shiftClock(deltaMs) {
      if (deltaMs === 0) return;
      for (const slot of devices.values()) {
        if (slot.cadence && slot.cadence.last !== null) slot.cadence.last += deltaMs;
        for (const rule of slot.rules) {
          rule.kind.onResume?.(rule.def, rule.state, deltaMs);
          record(slot, rule, undefined, 0, []);
        }
      }
      siteGroups.shiftClock(deltaMs);
    },

    verdicts() {
      const out: Array<{ key: string; status: Verdict['status']; severity: Severity | null }> = [];
      for (const slot of devices.values())
        for (const rule of slot.rules) out.push({ key: rule.key, status: rule.status, severity: rule.severity });
      siteGroups.verdicts(out);
      return out;
    },
  };
}
