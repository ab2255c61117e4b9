import type { DeadlineQueue } from '../deadline-queue.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { evaluateGroup, type GroupPoint, type GroupRule, type GroupWitness } from '../kinds/group.js';
import {
  advance,
  type Delays,
  initialLevelState,
  type LevelState,
  levelDueAt,
  levelStateFrom,
  MOVE,
  resumeLevel,
} from '../kinds/leveled.js';
import { ownValue } from '../own.js';
import type { DeviceContext } from '../reading.js';
import { fingerprintMatches, fingerprintOf, type RuleSet } from '../rule-set.js';
import { compareSeverity, type Severity } from '../severity.js';
import type { ActiveVerdict, Verdict } from '../verdict.js';
import type { GroupSnapshot, GroupState } from './engine-snapshot.js';
import { getOrCreate } from './get-or-create.js';
import { clearChange, type VerdictChange } from './verdict-change.js';
import { withInhibits } from './with-inhibits.js';

/** The pseudo-device of site-wide group rules. */
export const SITE_DEVICE = '_site';

/** What group rules read of a device of the site: who it is, its latest values, and its rules' committed severities. */
export interface GroupMember {
  readonly context: DeviceContext;
  /** Names for a `while` condition: the device's latest values and attributes. */
  readonly ctx: { readonly env: ExprEnv };
  readonly byId: ReadonlyMap<string, { readonly committed: Severity | null }>;
}

export interface SiteGroupsDeps {
  /** The devices of each site. */
  readonly sites: ReadonlyMap<string, Iterable<GroupMember>>;
  /** The queue the group rules' own delays wait in, shared with the device rules (a restore replaces it). */
  deadlines(): DeadlineQueue;
}

/** The group and site rules of a rule set: fed from the verdicts and latest values of the devices of one site. */
export interface SiteGroups extends GroupState {
  /** Whether a reading of this profile can change a group verdict by itself (a `while` condition reads the profile). */
  watches(profile: string): boolean;
  /** Judges the sites where a member rule changed (in `changes`), and `site` when given; their changes go to `changes`. */
  evaluateAfter(changes: VerdictChange[], when: number, site: string | null): void;
  /** As `evaluateAfter`, for every site in `sites` (which gains the sites where a member rule changed). */
  evaluateAfterAll(changes: VerdictChange[], when: number, sites: Set<string>): void;
  /** A member rule without an alarm changed on `site` (it makes no change to find it by): judged at the next evaluation. */
  touch(site: string, rule: string): void;
  /** Judges every group rule of a site. */
  evaluateSite(site: string, when: number, out: VerdictChange[]): void;
  /** The site of a group rule's deadline; null: a device rule's. */
  dueSite(deadlineKey: string): string | null;
  /**
   * Takes the group rules of `rules` (validated): slots of unchanged rules are kept, the alarms of removed and changed
   * ones cleared (in `out`), and every site judged again.
   */
  replaceRules(rules: RuleSet, now: number, out: VerdictChange[]): void;
  /** Forgets every group slot (a restore follows). */
  clear(): void;
  /** The wall clock was stepped by `deltaMs`: the group rules' own delays move with it (`RuleEngine.shiftClock`). */
  shiftClock(deltaMs: number): void;
  /** Drops a site's group state and timers (the site went to another gateway node); its snapshot becomes empty. */
  forgetSite(site: string): void;
  /** The current group verdicts, for inspection. */
  verdicts(out: Array<{ key: string; status: Verdict['status']; severity: Severity | null }>): void;
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

export function createSiteGroups(initial: RuleSet, deps: SiteGroupsDeps): SiteGroups {
  const { sites } = deps;
  const groupSlots = new Map<string, Map<string, GroupSlot>>();
  let groups: GroupDef[] = [];
  let memberRules = new Set<string>();
  let watchAll = false;
  let watchProfiles = new Set<string>();
  /** Sites whose group slots changed since the last `takeChanged`. */
  const changedSites = new Set<string>();

  const indexGroups = (rules: RuleSet): void => {
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
  indexGroups(initial);

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
    if (due === null) deps.deadlines().cancel(GROUP_DEADLINE + key);
    else deps.deadlines().schedule(GROUP_DEADLINE + key, due);
    const level = slot.lv.level;
    let shown: Verdict;
    if (due !== null && !MOVE.entered) shown = { status: 'pending', dueAt: due };
    else if (level === null) shown = { status: 'false' };
    else shown = slot.latest && slot.latest.severity !== level ? { ...slot.latest, severity: level } : (slot.latest ?? verdict);
    const severity = shown.status === 'true' ? shown.severity : null;
    if (slot.status !== shown.status || slot.severity !== severity) {
      slot.status = shown.status;
      slot.severity = severity;
      out.push({
        key,
        site,
        device,
        profile: group.profile,
        rule: group.def.id,
        source: group.def.source,
        verdict: shown,
        at: when,
        ...withInhibits(group.def),
      });
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
      for (const [item, points] of byItem) recordGroup(site, item, group, evaluateGroup(def, item, points, witnesses, site), when, out);
      for (const slot of [...(groupSlots.get(site)?.values() ?? [])]) {
        if (slot.group === group && !byItem.has(slot.item)) recordGroup(site, slot.item, group, { status: 'false' }, when, out);
      }
    }
  };

  /** Sites where a member rule without an alarm changed since the last evaluation. */
  const quietlyTouched = new Set<string>();
  /** Judges `touched`, the sites where a member rule changed (in `changes`) and those quietly touched. */
  const evaluateTouched = (changes: VerdictChange[], when: number, touched: Set<string>): void => {
    for (let i = 0; i < changes.length; i += 1) {
      const change = changes[i] as VerdictChange;
      if (memberRules.has(change.rule)) touched.add(change.site);
    }
    if (quietlyTouched.size > 0) {
      for (const site of quietlyTouched) touched.add(site);
      quietlyTouched.clear();
    }
    for (const site of touched) evaluateSite(site, when, changes);
  };

  return {
    changedSites,

    watches: (profile) => groups.length > 0 && (watchAll || watchProfiles.has(profile)),

    evaluateAfter(changes, when, site) {
      if (groups.length === 0) return;
      const touched = new Set<string>();
      if (site !== null) touched.add(site);
      evaluateTouched(changes, when, touched);
    },

    evaluateAfterAll(changes, when, touched) {
      if (groups.length === 0) return;
      evaluateTouched(changes, when, touched);
    },

    touch(site, rule) {
      if (memberRules.has(rule)) quietlyTouched.add(site);
    },

    evaluateSite,

    dueSite: (key) => (key.startsWith(GROUP_DEADLINE) ? key.slice(GROUP_DEADLINE.length, key.indexOf('/')) : null),

    replaceRules(rules, now, out) {
      const previous = new Map(groups.map((g) => [`${g.profile}/${g.def.id}`, g]));
      indexGroups(rules);
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
          deps.deadlines().cancel(GROUP_DEADLINE + slot.key);
          if (previous.has(id) && slot.status !== 'false') {
            out.push(
              clearChange(slot.key, site, slot.item ?? SITE_DEVICE, slot.group.profile, slot.group.def.id, slot.group.def.source, now),
            );
          }
        }
      }
      for (const site of sites.keys()) evaluateSite(site, now, out);
    },

    clear() {
      groupSlots.clear();
      quietlyTouched.clear();
    },

    forgetSite(site) {
      for (const key of groupSlots.get(site)?.keys() ?? []) deps.deadlines().cancel(GROUP_DEADLINE + key);
      if (groupSlots.delete(site)) changedSites.add(site);
      quietlyTouched.delete(site);
    },

    snapshot() {
      const list: GroupSnapshot[] = [];
      for (const slots of groupSlots.values()) for (const g of slots.values()) list.push(groupSnapshotOf(g));
      return list;
    },

    snapshotOf: (site) => [...(groupSlots.get(site)?.values() ?? [])].map(groupSnapshotOf),

    shiftClock(deltaMs) {
      for (const [site, slots] of groupSlots) {
        for (const slot of slots.values()) {
          resumeLevel(slot.lv, deltaMs);
          const due = levelDueAt(slot.lv, slot.group.delays);
          if (due !== null) deps.deadlines().schedule(GROUP_DEADLINE + slot.key, due);
        }
        if (slots.size > 0) changedSites.add(site);
      }
    },

    restore(saved, when, downMs, clears) {
      // by id and definition: two profiles may each have a group rule of the same id; a fingerprint saved when it held
      // the rule's words still matches while they are the same (fingerprintMatches)
      const byId = new Map(groups.map((g) => [g.def.id, g]));
      for (const g of saved) {
        const group = groups.find((candidate) => candidate.def.id === g.rule && fingerprintMatches(g.fp, candidate.def));
        if (!group) {
          if (g.status !== 'false') {
            const device = g.item ?? SITE_DEVICE;
            const named = byId.get(g.rule);
            clears.push(clearChange(g.key, g.site, device, named?.profile ?? '', g.rule, named?.def.source ?? 'rules', when));
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
        if (due !== null) deps.deadlines().schedule(GROUP_DEADLINE + g.key, due);
      }
    },

    verdicts(out) {
      for (const slots of groupSlots.values())
        for (const g of slots.values()) out.push({ key: g.key, status: g.status, severity: g.severity });
    },
  };
}
