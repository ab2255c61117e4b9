import type { RuleDefinition, ruleKindOf } from '../kinds/registry.js';
import type { DeviceContext, MetricValue } from '../reading.js';
import type { RuleContext } from '../rule-kind.js';
import { fingerprintDigestOf, fingerprintMatches } from '../rule-set.js';
import type { Severity } from '../severity.js';
import type { ActiveVerdict, Verdict } from '../verdict.js';
import type { CadenceState } from './cadence.js';
import { clearChange, type VerdictChange } from './verdict-change.js';

/**
 * Version 5: a rule's entry may hold, instead of its whole `state`, only the top-level keys of the state that differ
 * from the rule's initial state (`diff`): a dust collector's device entry, saved in each commit that moved it, went from
 * 7.4 to about 3 KB of JSON. A gateway of version 4 refuses a version 5 snapshot.
 * Version 4: each rule's fingerprint is a digest of its definition (`fingerprintDigestOf`; the whole text before,
 * still read), and a silence rule may keep a credit for time its data waited in the gateway (`heldUntil`). A
 * gateway of version 3 refuses a version 4 snapshot instead of taking every rule for changed and clearing its alarms.
 * Version 3: each device also keeps what its cadence was learned from (`cadence`), and level states their
 * per-level onsets (`lv.since`). Version 2: the level fields of threshold, rate and window rules (`level`, `target`, `pendingSince`,
 * `pendingUp`, `latched`) are kept in `state.lv` (version 1 had them at the top of the state); version 1
 * snapshots are still restored.
 */
export const ENGINE_SNAPSHOT_VERSION = 5;

export interface EngineSnapshot {
  version: 1 | 2 | 3 | 4 | 5;
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
      /** The rule's state whole; absent when `diff` is there. */
      state?: unknown;
      /** Version 5: the state's top-level keys whose values differ from the rule's initial state (the rest are those). */
      diff?: Record<string, unknown> | undefined;
      /** Absent (version 5, a store's save): 'false'. */
      status?: Verdict['status'] | undefined;
      /** Absent (version 5, a store's save): null. */
      severity?: Severity | null | undefined;
      /** Severity of the last `true` verdict, kept while pending (what the alarm shows); absent: as `status` says. */
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
  /** Devices that moved and that the caller chose to save later (`takeChanged(defer)`): no state here. */
  deferred?: string[];
  sites: Array<{ site: string; groups: GroupSnapshot[] }>;
  /** Devices the engine forgot (`forgetSites`): their saved state goes too. */
  forgotten?: string[];
}

/** A rule slot of a device, as far as a snapshot saves and restores it. */
export interface PersistedRule {
  def: RuleDefinition;
  kind: ReturnType<typeof ruleKindOf>;
  state: unknown;
  status: Verdict['status'];
  severity: Severity | null;
  committed: Severity | null;
}

/** A device slot, as far as a snapshot saves and restores it. */
export interface PersistedDevice {
  readonly key: string;
  readonly context: DeviceContext;
  readonly cadence: CadenceState;
  readonly latest: Record<string, MetricValue>;
  /** Time of the newest evaluated reading; -Infinity before the first. */
  readonly lastTs: number;
  readonly rules: readonly PersistedRule[];
  readonly byId: ReadonlyMap<string, PersistedRule>;
}

/** The group rules' part of the state: their slots as saved, site by site. */
export interface GroupState {
  /** Sites whose group slots changed since the last `takeChanged`. */
  readonly changedSites: Set<string>;
  /** Every group slot, as saved. */
  snapshot(): GroupSnapshot[];
  /** The group slots of one site, as saved (none: an empty list). */
  snapshotOf(site: string): GroupSnapshot[];
  /**
   * Takes the saved group slots whose rule is unchanged (the engine forgot its own first), their own delays resumed as if
   * `downMs` had not passed; of those whose rule changed or went away, an alarm shown is cleared (pushed to `clears`) at `when`.
   */
  restore(saved: readonly GroupSnapshot[], when: number, downMs: number, clears: VerdictChange[]): void;
}

/** What saving and restoring needs of the engine: its device slots, the group rules, and how to rebuild a device. */
export interface EngineSnapshotsDeps<D extends PersistedDevice> {
  /** The engine's device slots. */
  readonly devices: ReadonlyMap<string, D>;
  /** Device slots whose state moved since the last `takeChanged` (the engine adds them as it records). */
  readonly changedDevices: Set<D>;
  readonly groups: GroupState;
  /** Forgets every device, group slot and deadline. */
  clear(): void;
  /** A new device slot with the saved context, cadence, latest values and time, and fresh slots of its rules. */
  addDevice(saved: DeviceSnapshot): D;
  /** The device's rule context at `now`. */
  contextAt(slot: D, now: number): RuleContext;
  /** Records a rule's verdict (undefined: only its state moved) at `when`: its deadline is scheduled; changes are dropped. */
  record(slot: D, rule: D['rules'][number], verdict: Verdict | undefined, when: number): void;
  /** The device's rules are restored: what its rules read of each other's verdicts is brought in line with them. */
  settle(slot: D): void;
}

export interface EngineSnapshots {
  snapshot(): EngineSnapshot;
  takeChanged(defer?: (key: string) => boolean): EngineChanges;
  /** The saved form of these devices now (keys not known are left out), as `takeChanged` gives it. */
  deviceStates(keys: Iterable<string>): EngineChanges['devices'];
  restore(snapshot: EngineSnapshot, now?: number, downMs?: number): VerdictChange[];
  /** Adds the snapshot's devices and group slots beside the state held (which must not hold them), as `restore` would. */
  adopt(snapshot: EngineSnapshot, now: number, downMs: number): VerdictChange[];
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Equal as JSON would write them (rule states are plain data: objects, arrays, numbers, strings, booleans, null). */
export function sameJsonValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    // JSON writes a non-finite number as null, and leaves undefined out
    if (typeof a === 'number' && !Number.isFinite(a)) return b === null || (typeof b === 'number' && !Number.isFinite(b));
    if (typeof b === 'number' && !Number.isFinite(b)) return a === null;
    return false;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    if (a.length !== other.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!sameJsonValue(a[i] ?? null, other[i] ?? null)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key in x) if (Object.hasOwn(x, key) && x[key] !== undefined && !sameJsonValue(x[key], y[key])) return false;
  for (const key in y) if (Object.hasOwn(y, key) && y[key] !== undefined && x[key] === undefined) return false;
  return true;
}

/** A rule's initial state taken apart once: its top-level keys and their values (compared with, never handed out). */
interface InitialShape {
  readonly state: unknown;
  /** null: not a plain object (such a state is saved whole). */
  readonly keys: readonly string[] | null;
  readonly values: readonly unknown[];
}

const shapeOf = (initial: unknown): InitialShape =>
  isPlainObject(initial)
    ? { state: initial, keys: Object.keys(initial), values: Object.values(initial) }
    : { state: initial, keys: null, values: [] };

/**
 * The top-level keys of a rule's state whose values differ from its initial state's, or null when the state must be
 * saved whole: it is not a plain object, or it lacks a key the initial state has (merging over the initial state
 * would bring that key back).
 */
export function stateDiff(state: unknown, initial: unknown): Record<string, unknown> | null {
  return diffOver(state, shapeOf(initial));
}

function diffOver(state: unknown, shape: InitialShape): Record<string, unknown> | null {
  const { keys, values } = shape;
  if (keys === null || !isPlainObject(state)) return null;
  const diff: Record<string, unknown> = {};
  let seen = 0;
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i] as string;
    const value = state[key];
    if (value === undefined && !Object.hasOwn(state, key)) return null;
    seen += 1;
    if (!sameJsonValue(value, values[i])) diff[key] = value;
  }
  // keys the initial state does not have (few states grow any): looked for only when the count says so
  if (Object.keys(state).length !== seen) for (const key of Object.keys(state)) if (!keys.includes(key)) diff[key] = state[key];
  return diff;
}

/** Each rule definition's initial state, taken apart once. */
const initialShapes = new WeakMap<RuleDefinition, InitialShape>();
const initialShapeOf = (rule: PersistedRule): InitialShape => {
  let shape = initialShapes.get(rule.def);
  if (shape === undefined) {
    shape = shapeOf(rule.kind.initialState(rule.def));
    initialShapes.set(rule.def, shape);
  }
  return shape;
};

const stateDiffOf = (rule: PersistedRule): Record<string, unknown> | null => diffOver(rule.state, initialShapeOf(rule));

/** The state a saved rule entry holds: whole, or its changed keys merged over the rule's initial state. */
function savedStateOf(kind: PersistedRule['kind'], def: RuleDefinition, saved: DeviceSnapshot['rules'][number]): unknown {
  if (saved.diff === undefined) return saved.state;
  return { ...(kind.initialState(def) as Record<string, unknown>), ...saved.diff };
}

/**
 * A rule as registration left it, with no hook but `initialState` run on it: its saved entry is left out, since a
 * restore gives a rule with no saved entry a fresh slot (as for a rule added while the gateway was down) — the same.
 * A silence rule is never pristine: registration starts its clock.
 */
const isPristine = (rule: PersistedRule, diff: Record<string, unknown> | null): boolean =>
  rule.status === 'false' &&
  rule.severity === null &&
  rule.committed === null &&
  !rule.kind.onRegister &&
  (diff === null ? sameJsonValue(rule.state, initialShapeOf(rule).state) : Object.keys(diff).length === 0);

/** The severity shown for a saved rule without `committed`: its severity while raised, else none. */
const committedOf = (status: Verdict['status'], severity: Severity | null): Severity | null => (status === 'true' ? severity : null);

/** A rule's entry in a whole snapshot: every field. */
const wholeEntryOf = (r: PersistedRule): DeviceSnapshot['rules'][number] => ({
  id: r.def.id,
  fp: fingerprintDigestOf(r.def),
  state: r.state,
  status: r.status,
  severity: r.severity,
  committed: r.committed,
});

/**
 * A rule's entry as a store saves it: its state as `diff` where it can be, and no field that holds its default. The
 * fields left out are present as undefined (one object shape for every entry; JSON leaves them out).
 */
const compactEntryOf = (r: PersistedRule, diff: Record<string, unknown> | null): DeviceSnapshot['rules'][number] => ({
  id: r.def.id,
  fp: fingerprintDigestOf(r.def),
  state: diff === null ? r.state : undefined,
  diff: diff ?? undefined,
  status: r.status === 'false' ? undefined : r.status,
  severity: r.severity ?? undefined,
  committed: r.committed === committedOf(r.status, r.severity) ? undefined : r.committed,
});

/**
 * A device's part of a snapshot. Of a device that never had a reading, pristine rules are left out: at start-up
 * every registered device is new, and 20,000 devices' full entries (6.6 KB of JSON each for a dust collector) were
 * hundreds of megabytes of garbage to write and, after a restart, to read back. `compact` (what a store saves in each
 * commit): each rule's state as its `diff` from the initial state where it can be — most of a rule's state is its
 * initial values (a threshold rule's level state while no level is reached), and the store wrote them again and
 * again.
 */
const deviceSnapshotOf = (slot: PersistedDevice, compact: boolean): DeviceSnapshot => {
  const rules: DeviceSnapshot['rules'] = [];
  const reported = Number.isFinite(slot.lastTs);
  for (const r of slot.rules) {
    const diff = compact || !reported ? stateDiffOf(r) : null;
    if (!reported && isPristine(r, diff)) continue;
    rules.push(compact ? compactEntryOf(r, diff) : wholeEntryOf(r));
  }
  return { context: slot.context, cadence: slot.cadence, latest: slot.latest, lastTs: reported ? slot.lastTs : null, rules };
};

/** Saving the engine's state whole (`snapshot`) or what changed (`takeChanged`), and restoring it. */
export function createEngineSnapshots<D extends PersistedDevice>(deps: EngineSnapshotsDeps<D>): EngineSnapshots {
  const { devices, changedDevices, groups } = deps;
  return {
    snapshot() {
      const groupList = groups.snapshot();
      return structuredClone({
        version: ENGINE_SNAPSHOT_VERSION as 4,
        devices: [...devices.values()].map((slot) => deviceSnapshotOf(slot, false)),
        groups: groupList,
      });
    },

    takeChanged(defer) {
      const out: EngineChanges = { devices: [], sites: [] };
      const deferred: string[] = [];
      for (const slot of changedDevices) {
        if (defer?.(slot.key)) deferred.push(slot.key);
        else out.devices.push({ key: slot.key, state: deviceSnapshotOf(slot, true) });
      }
      if (deferred.length > 0) out.deferred = deferred;
      for (const site of groups.changedSites) out.sites.push({ site, groups: groups.snapshotOf(site) });
      changedDevices.clear();
      groups.changedSites.clear();
      return out;
    },

    deviceStates(keys) {
      const out: EngineChanges['devices'] = [];
      for (const key of keys) {
        const slot = devices.get(key);
        if (slot) out.push({ key, state: deviceSnapshotOf(slot, true) });
      }
      return out;
    },

    restore(snapshot, now, downMs = 0) {
      checkVersion(snapshot);
      deps.clear();
      const clears = bringIn(snapshot, now, downMs);
      changedDevices.clear();
      groups.changedSites.clear();
      return clears;
    },

    adopt(snapshot, now, downMs) {
      checkVersion(snapshot);
      return bringIn(snapshot, now, downMs);
    },
  };

  /** Takes the saved devices and group slots into the engine; returns the clears of alarms whose rule changed or went. */
  function bringIn(snapshot: EngineSnapshot, now: number | undefined, downMs: number): VerdictChange[] {
    const copy = structuredClone(snapshot);
    const clears: VerdictChange[] = [];
    const when = now ?? 0;
    for (const saved of copy.devices) {
      const slot = deps.addDevice(saved);
      const ctx = deps.contextAt(slot, now ?? 0);
      for (const rule of slot.rules) {
        const old = saved.rules.find((r) => r.id === rule.def.id);
        if (old && (old.fp === undefined || fingerprintMatches(old.fp, rule.def))) {
          const state = savedStateOf(rule.kind, rule.def, old);
          rule.state = rule.kind.restoreState ? rule.kind.restoreState(rule.def, state) : state;
          rule.status = old.status ?? 'false';
          rule.severity = old.severity ?? null;
          rule.committed = old.committed !== undefined ? old.committed : committedOf(rule.status, rule.severity);
          if (downMs > 0) rule.kind.onResume?.(rule.def, rule.state, downMs);
          deps.record(slot, rule, undefined, 0);
        } else if (now !== undefined) {
          deps.record(slot, rule, rule.kind.onRegister?.(rule.def, rule.state, ctx), now);
        }
      }
      // state of a rule that changed or went away meanwhile is not restored: its alarm clears, as on a reload
      for (const old of saved.rules) {
        const rule = slot.byId.get(old.id);
        const restored = rule !== undefined && (old.fp === undefined || fingerprintMatches(old.fp, rule.def));
        if (restored || (old.status ?? 'false') === 'false') continue;
        const c = slot.context;
        clears.push(clearChange(`${slot.key}/${old.id}`, c.site, c.device, c.profile, old.id, rule?.def.source ?? 'rules', when));
      }
      deps.settle(slot);
    }
    groups.restore(copy.groups ?? [], when, downMs, clears);
    return clears;
  }
}

function checkVersion(snapshot: EngineSnapshot): void {
  if (![1, 2, 3, 4, ENGINE_SNAPSHOT_VERSION].includes(snapshot.version)) {
    throw new Error(`engine snapshot version ${String(snapshot.version)} is not supported (1 to ${ENGINE_SNAPSHOT_VERSION})`);
  }
}
