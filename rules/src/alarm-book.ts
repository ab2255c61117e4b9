import type { Alarm, AlarmChase, AlarmEventType, AlarmTransition, Disposal } from './alarm.js';
import { createShelving, type Shelving } from './alarm-shelving.js';
import { type AlarmBookCore, withSuppression } from './alarm-suppression.js';
import { createDeadlineQueue } from './deadline-queue.js';
import { createInhibition, type Inhibition, type InhibitionSnapshot, type SiteInhibition } from './inhibition.js';
import type { VerdictChange } from './rule-engine.js';
import { compareSeverity, type Severity } from './severity.js';
import type { Shelf } from './shelf.js';

export type AlarmStateFilter = 'open' | 'active' | 'cleared' | 'all';

export interface AlarmQuery {
  state?: AlarmStateFilter | undefined;
  site?: string | undefined;
  device?: string | undefined;
  severity?: Severity | undefined;
}

/** Why an operator action was refused; stable codes, shown to the API caller. */
export type AlarmActionError =
  | { code: 'alarm_not_found' }
  | { code: 'disposal_required' }
  | { code: 'alarm_resolved' }
  | { code: 'alarm_still_active' }
  | { code: 'alarm_already_acknowledged' }
  | { code: 'alarm_reoccurred' };

export type AlarmActionResult =
  /** `before`: what the action made known first (a shelf's held `alarm.overdue` ahead of the resolve). */
  { ok: true; transition: AlarmTransition; before?: AlarmTransition[] } | { ok: false; error: AlarmActionError };

export interface AlarmBookSnapshot {
  version: 1;
  alarms: Alarm[];
  history: Array<[string, AlarmTransition[]]>;
  /** Flapping bookkeeping per alarm key (absent in snapshots of older versions). */
  flaps?: Array<[string, FlapRecord]>;
  /** Shelves and maintenance windows, on, to come and recently ended (absent in older snapshots). */
  shelves?: Shelf[];
  /** Active inhibitors and what they hold (absent in older snapshots). */
  inhibition?: InhibitionSnapshot;
}

/**
 * What one gateway node hands the next of a site's alarm book: its open alarms, their histories, flapping records,
 * shelves and inhibition state.
 */
export type SiteAlarms = Pick<AlarmBookSnapshot, 'alarms' | 'history' | 'flaps' | 'shelves'> & { inhibition?: SiteInhibition };

/** Recent lifecycle changes of one key, and while flapping the condition's state held back. */
export interface FlapRecord {
  /**
   * Times of recent reversals (only while not flapping): a transition up (raise, escalate) after one down (clear,
   * de-escalate) or from normal, or one down after one up. Escalating through several levels is one.
   */
  times: number[];
  /** Direction of the last transition: true up, false down (absent: down, from normal). */
  up?: boolean;
  /** While flapping: when the condition last changed, and where it stands now. */
  lastChangeAt: number | null;
  latent: VerdictChange | null;
}

/**
 * Flapping: more than `transitions` reversals (raise/clear cycles, or oscillation between two levels) within
 * `windowMs` → `alarm.flapping`. Escalation through several levels in one excursion is not flapping.
 */
export interface FlappingPolicy {
  transitions: number;
  windowMs: number;
}

export const DEFAULT_FLAPPING: FlappingPolicy = { transitions: 5, windowMs: 10 * 60_000 };

export interface AlarmBook {
  /** Turns a rule's verdict change into transitions (usually zero or one; `alarm.flapping` may follow). */
  apply(change: VerdictChange): AlarmTransition[];
  /**
   * Applies the changes of one batch (one reading, one tick): among those of the same time, inhibiting rules first, so
   * that a reading that shows a sensor fault raises only the fault.
   */
  applyAll(changes: readonly VerdictChange[]): AlarmTransition[];
  /** Ends flapping of alarms quiet for a window (`alarm.unflapped`, then the held-back state). Call with the engine's tick. */
  tick(now: number): AlarmTransition[];
  /** When `tick` next has something to do, or null. */
  nextDueAt(): number | null;
  /**
   * `occurrence`: the alarm's `occurrences` the duty officer saw. Refused (`alarm_reoccurred`) if it has cleared and
   * come back since: the acknowledgement would land on a return they have not seen.
   */
  acknowledge(id: string, by: string, note: string | null, at: number, occurrence?: number): AlarmActionResult;
  /** Resolves a cleared alarm; `disposal`: what was done about it, kept on the alarm and in its history. */
  resolve(id: string, by: string, note: string | null, at: number, disposal?: Disposal, occurrence?: number): AlarmActionResult;
  /** Assigns (or re-assigns) an alarm that is not resolved to a responsible person: `alarm.assigned`. */
  assign(id: string, to: string, by: string, note: string | null, at: number): AlarmActionResult;
  /** Records that a step of an escalation policy fired for an alarm that is not resolved (`alarm.chased`), with the assignee it sets. */
  chase(id: string, chase: AlarmChase, note: string | null, at: number): AlarmActionResult;
  get(id: string): Alarm | undefined;
  history(id: string): AlarmTransition[];
  list(query: AlarmQuery): Alarm[];
  /** The flapping bookkeeping of a key, if it has any (for a store that saves what a transition touched). */
  flapOf(key: string): FlapRecord | undefined;
  /**
   * The flapping alarms whose held-back condition changed since the last call: no transition records that, so a store
   * saves their flapping records itself (a restart would end their flapping on a stale condition).
   */
  takeFlapChanges(): Alarm[];
  snapshot(): AlarmBookSnapshot;
  restore(snapshot: AlarmBookSnapshot): void;
  /**
   * The sites went to another gateway node: their alarms that are not resolved (and their flapping records, shelves
   * and inhibition state) leave this book; resolved ones stay for queries.
   */
  forgetSites(sites: Iterable<string>): void;
  /**
   * Takes over alarms another gateway node kept (those of the sites it gave up, not resolved): their ids, `seq`,
   * histories, flapping records, shelves (maintenance windows go on) and inhibition state (what an inhibitor held is
   * released when it ends); what this book held of them goes first.
   */
  adopt(part: SiteAlarms): void;
  /** Shelves and maintenance windows: their actions return transitions to record and deliver like any others. */
  readonly shelving: Shelving;
  /** Inhibitors that hold, and the changes they held. */
  readonly inhibition: Inhibition;
}

export interface AlarmBookDeps {
  newAlarmId(): string;
  /**
   * The same-day deadline of an alarm the gateway raised at `raisedAt` on `site` (ms: its `reportedAt`, which is its
   * `raisedAt` unless the reading came late), or null for none. At it, an alarm still
   * not resolved goes `alarm.overdue`, once.
   */
  deadlineOf?(site: string, raisedAt: number): number | null;
  /** Closed alarms kept for queries; the oldest go first. */
  maxClosed?: number;
  /** Flapping detection; `false` turns it off. Default: more than 5 changes in 10 minutes. */
  flapping?: FlappingPolicy | false;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * How late a reading must arrive for its alarm to count its handling from the arrival (`Alarm.reportedAt`): a backlog
 * sent after an outage, not a network's or a clock's usual lag.
 */
export const LATE_READING_MS = 60_000;

/**
 * When the gateway learned of the change — the arrival, late or not: a reading of 23:58:50 that arrives at 23:59:30 is
 * not born past a 23:59 deadline.
 */
const learnedAt = (change: VerdictChange): number => Math.max(change.at, change.receivedAt ?? change.at);

/**
 * Marks a raised (or raised again) alarm with its reading's arrival if that came late (`reportedAt` set; absent, its
 * `raisedAt` stands). Returns when the gateway learned of the change (`learnedAt`).
 */
function markReported(alarm: Alarm, change: VerdictChange): number {
  if (change.receivedAt !== undefined && change.receivedAt - change.at > LATE_READING_MS) alarm.reportedAt = iso(change.receivedAt);
  else delete alarm.reportedAt;
  return learnedAt(change);
}

/** The order of alarm lists: newest raised first (ties: the larger id first). Also what a page's cursor holds. */
export const newestFirst = (a: Pick<Alarm, 'raisedAt' | 'id'>, b: Pick<Alarm, 'raisedAt' | 'id'>): number =>
  a.raisedAt < b.raisedAt ? 1 : a.raisedAt > b.raisedAt ? -1 : a.id < b.id ? 1 : -1;

/**
 * Why a resolve of `alarm` is refused (`occurrence`: the `occurrences` its sender saw), or null when it is taken: the
 * book's own check, and the shelving's, which sends a held deadline's lateness ahead of a resolve that will be taken.
 */
export function resolveRefusal(alarm: Alarm | undefined, occurrence: number | undefined): AlarmActionError | null {
  if (!alarm) return { code: 'alarm_not_found' };
  if (alarm.resolved) return { code: 'alarm_resolved' };
  if (occurrence !== undefined && occurrence !== alarm.occurrences) return { code: 'alarm_reoccurred' };
  if (alarm.state === 'active') return { code: 'alarm_still_active' };
  return null;
}

/** The alarms that match a query, newest raised first (ties: the larger id first). */
export function listAlarms(all: Iterable<Alarm>, query: AlarmQuery): Alarm[] {
  const state = query.state ?? 'open';
  const out: Alarm[] = [];
  for (const alarm of all) {
    if (state === 'open' && alarm.resolved) continue;
    if (state === 'active' && alarm.state !== 'active') continue;
    if (state === 'cleared' && alarm.state !== 'cleared') continue;
    if (query.site && alarm.site !== query.site) continue;
    if (query.device && alarm.device !== query.device) continue;
    if (query.severity && alarm.severity !== query.severity) continue;
    out.push(alarm);
  }
  return out.sort(newestFirst);
}

/**
 * The alarm lifecycle: one open alarm per key (site/device/rule); raise, escalate, de-escalate, clear from
 * rule verdicts; acknowledge and resolve from duty officers. Every transition increments the alarm's `seq`.
 * A condition that returns while its alarm is cleared but not yet resolved re-activates that alarm.
 */
export function createAlarmBook(deps: AlarmBookDeps): AlarmBook {
  const maxClosed = deps.maxClosed ?? 10_000;
  const alarms = new Map<string, Alarm>();
  const openByKey = new Map<string, string>();
  const histories = new Map<string, AlarmTransition[]>();
  const closedOrder: string[] = [];
  const flapping = deps.flapping === undefined ? DEFAULT_FLAPPING : deps.flapping;
  const flaps = new Map<string, FlapRecord>();
  /** Ids of flapping alarms whose record changed with no transition (`takeFlapChanges`). */
  const flapsChanged = new Set<string>();
  /** Open alarms by id, due at their deadline. */
  let deadlines = createDeadlineQueue();
  const scheduleDeadline = (alarm: Alarm): void => {
    if (!alarm.resolved && !alarm.overdue && alarm.deadline) deadlines.schedule(alarm.id, Date.parse(alarm.deadline));
  };

  const transition = (
    alarm: Alarm,
    type: AlarmEventType,
    at: number,
    by: string | null = null,
    note: string | null = null,
  ): AlarmTransition => {
    alarm.seq += 1;
    // previousSeverity describes this event: only a raise or a severity change moves it
    if (type !== 'alarm.raised' && type !== 'alarm.escalated' && type !== 'alarm.deescalated') alarm.previousSeverity = alarm.severity;
    const step: AlarmTransition = { type, at, by, note, alarm: { ...alarm } };
    histories.get(alarm.id)?.push(step);
    return step;
  };

  const forgetOldClosed = (): void => {
    while (closedOrder.length > maxClosed) {
      const id = closedOrder.shift() as string;
      alarms.delete(id);
      histories.delete(id);
    }
  };

  const applyNow = (change: VerdictChange): AlarmTransition[] => {
    const { verdict } = change;
    if (verdict.status === 'pending') return [];
    const openId = openByKey.get(change.key);
    const open = openId === undefined ? undefined : alarms.get(openId);

    if (verdict.status === 'false') {
      if (!open || open.state === 'cleared') return [];
      open.state = 'cleared';
      open.clearedAt = iso(change.at);
      // the event says what cleared it (the clearing value), never the raise-time text
      const clearing = verdict.detail;
      if (clearing) {
        Object.assign(open, {
          metric: clearing.metric ?? open.metric,
          value: clearing.value,
          threshold: clearing.threshold,
          unit: clearing.unit,
          message: clearing.message,
          messageZh: clearing.messageZh ?? clearing.message,
        });
      } else {
        Object.assign(open, { message: `Cleared: ${open.message}`, messageZh: `已解除：${open.messageZh ?? open.message}` });
      }
      return [transition(open, 'alarm.cleared', change.at)];
    }

    const details = {
      metric: verdict.metric,
      value: verdict.value,
      threshold: verdict.threshold,
      unit: verdict.unit,
      message: verdict.message,
      messageZh: verdict.messageZh ?? verdict.message,
    };
    if (!open) {
      const alarm: Alarm = {
        id: deps.newAlarmId(),
        key: change.key,
        seq: 0,
        site: change.site,
        device: change.device,
        profile: change.profile,
        rule: change.rule,
        source: change.source,
        severity: verdict.severity,
        previousSeverity: null,
        state: 'active',
        acknowledged: false,
        acknowledgedBy: null,
        acknowledgedAt: null,
        resolved: false,
        resolvedBy: null,
        resolvedAt: null,
        note: null,
        ...details,
        raisedAt: iso(change.at),
        clearedAt: null,
        occurrences: 1,
      };
      const deadline = deps.deadlineOf?.(change.site, markReported(alarm, change)) ?? null;
      if (deadline !== null) alarm.deadline = iso(deadline);
      alarms.set(alarm.id, alarm);
      scheduleDeadline(alarm);
      openByKey.set(change.key, alarm.id);
      histories.set(alarm.id, []);
      return [transition(alarm, 'alarm.raised', change.at)];
    }

    if (open.state === 'cleared') {
      const before: AlarmTransition[] = [];
      const deadline = open.deadline ? Date.parse(open.deadline) : null;
      if (deadline !== null && !open.overdue && deadline <= learnedAt(change)) {
        // its deadline passed before a tick could say so (a restart over it, the journal replayed before the first tick):
        // the overdue of the day it missed goes out first, as it would have
        deadlines.cancel(open.id);
        open.overdue = true;
        before.push(transition(open, 'alarm.overdue', deadline));
      }
      // a return to alarm needs a new acknowledgement (ISA-18.2), which also lets a latching rule go again
      Object.assign(open, details, {
        acknowledged: false,
        acknowledgedBy: null,
        acknowledgedAt: null,
        state: 'active',
        // it returns from normal
        previousSeverity: null,
        severity: verdict.severity,
        raisedAt: iso(change.at),
        clearedAt: null,
        occurrences: open.occurrences + 1,
      });
      const reportedAt = markReported(open, change);
      // the escalation of its earlier occurrence is over: it is chased afresh (the steps it took stay in its history)
      delete open.chase;
      // a return after its day's deadline passed is pushed again: it is due the day it returns (the overdue of the
      // day it missed stays in its history); one that returns the same day keeps that day's deadline
      if (open.deadline && Date.parse(open.deadline) <= reportedAt) {
        const next = deps.deadlineOf?.(change.site, reportedAt) ?? null;
        if (next !== null) {
          deadlines.cancel(open.id);
          open.deadline = iso(next);
          open.overdue = false;
          scheduleDeadline(open);
        }
      }
      before.push(transition(open, 'alarm.raised', change.at));
      return before;
    }

    const direction = compareSeverity(verdict.severity, open.severity);
    if (direction === 0) return [];
    Object.assign(open, details, { previousSeverity: open.severity, severity: verdict.severity });
    if (direction > 0) {
      // a higher severity is a new demand on the duty officer (ISA-18.2): acknowledged at orange is not at red
      Object.assign(open, { acknowledged: false, acknowledgedBy: null, acknowledgedAt: null });
    }
    return [transition(open, direction > 0 ? 'alarm.escalated' : 'alarm.deescalated', change.at)];
  };

  const openAlarm = (key: string): Alarm | undefined => {
    const id = openByKey.get(key);
    return id === undefined ? undefined : alarms.get(id);
  };

  /**
   * While flapping, the condition is tracked, and only what shows the alarm higher goes out: its return to an alarm that
   * shows cleared (a hazard is never shown as gone) and a rise above what the alarm shows. Clears and falls are held
   * until it is quiet for a window.
   */
  const applyFlapping = (alarm: Alarm, record: FlapRecord, change: VerdictChange): AlarmTransition[] => {
    if (change.verdict.status === 'pending') return [];
    record.latent = change;
    record.lastChangeAt = change.at;
    flapsChanged.add(alarm.id);
    const { verdict } = change;
    if (verdict.status === 'true' && (alarm.state === 'cleared' || compareSeverity(verdict.severity, alarm.severity) > 0))
      return applyNow(change);
    return [];
  };

  const shelving = createShelving({
    get: (id) => alarms.get(id),
    open: () => [...openByKey.values()].map((id) => alarms.get(id)).filter((a): a is Alarm => a !== undefined),
    transition,
    history: (id) => histories.get(id) ?? [],
  });

  const core: AlarmBookCore = {
    apply(change) {
      if (!flapping) return applyNow(change);
      const open = openAlarm(change.key);
      const record = flaps.get(change.key);
      if (open?.flapping && record) return applyFlapping(open, record, change);
      const steps = applyNow(change);
      if (steps.length === 0) return steps;
      const alarm = steps[0]?.alarm;
      const live = alarm ? alarms.get(alarm.id) : undefined;
      if (!live) return steps;
      const rec = record ?? { times: [], lastChangeAt: null, latent: null };
      flaps.set(change.key, rec);
      const type = steps[0]?.type;
      const up = type === 'alarm.raised' || type === 'alarm.escalated';
      if (up !== (rec.up ?? false)) rec.times.push(change.at);
      rec.up = up;
      while (rec.times.length > 0 && (rec.times[0] as number) <= change.at - flapping.windowMs) rec.times.shift();
      if (rec.times.length > flapping.transitions) {
        live.flapping = true;
        rec.times = [];
        rec.lastChangeAt = change.at;
        rec.latent = change;
        steps.push(transition(live, 'alarm.flapping', change.at));
      }
      return steps;
    },

    tick(now) {
      const out: AlarmTransition[] = [];
      for (const id of deadlines.popDue(now)) {
        const alarm = alarms.get(id);
        if (!alarm || alarm.resolved || alarm.overdue) continue;
        alarm.overdue = true;
        out.push(transition(alarm, 'alarm.overdue', now));
      }
      if (!flapping) return out;
      for (const [key, record] of flaps) {
        const alarm = openAlarm(key);
        if (!alarm?.flapping) {
          if (record.times.length === 0 || (record.times[record.times.length - 1] as number) <= now - flapping.windowMs) flaps.delete(key);
          continue;
        }
        if (record.lastChangeAt === null || now < record.lastChangeAt + flapping.windowMs) continue;
        alarm.flapping = false;
        out.push(transition(alarm, 'alarm.unflapped', now));
        const latent = record.latent;
        flaps.delete(key);
        if (latent) out.push(...applyNow({ ...latent, at: now }));
      }
      return out;
    },

    nextDueAt() {
      let next: number | null = deadlines.nextDueAt();
      if (!flapping) return next;
      for (const [key, record] of flaps) {
        if (record.lastChangeAt === null || !openAlarm(key)?.flapping) continue;
        const due = record.lastChangeAt + flapping.windowMs;
        if (next === null || due < next) next = due;
      }
      return next;
    },

    acknowledge(id, by, note, at, occurrence) {
      const alarm = alarms.get(id);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      if (occurrence !== undefined && occurrence !== alarm.occurrences) return { ok: false, error: { code: 'alarm_reoccurred' } };
      if (alarm.acknowledged) return { ok: false, error: { code: 'alarm_already_acknowledged' } };
      Object.assign(alarm, { acknowledged: true, acknowledgedBy: by, acknowledgedAt: iso(at), note });
      return { ok: true, transition: transition(alarm, 'alarm.acknowledged', at, by, note) };
    },

    assign(id, to, by, note, at) {
      const alarm = alarms.get(id);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      Object.assign(alarm, { assignee: to, assignedAt: iso(at) });
      return { ok: true, transition: transition(alarm, 'alarm.assigned', at, by, note) };
    },

    chase(id, chase, note, at) {
      const alarm = alarms.get(id);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      alarm.chase = structuredClone(chase);
      if (chase.assignee !== undefined) Object.assign(alarm, { assignee: chase.assignee, assignedAt: iso(at) });
      return { ok: true, transition: transition(alarm, 'alarm.chased', at, null, note) };
    },

    resolve(id, by, note, at, disposal, occurrence) {
      const alarm = alarms.get(id);
      const refusal = resolveRefusal(alarm, occurrence);
      if (refusal || !alarm) return { ok: false, error: refusal ?? { code: 'alarm_not_found' } };
      Object.assign(alarm, { resolved: true, resolvedBy: by, resolvedAt: iso(at), note: note ?? alarm.note });
      if (disposal) alarm.disposal = { ...disposal };
      openByKey.delete(alarm.key);
      deadlines.cancel(alarm.id);
      closedOrder.push(alarm.id);
      const step = transition(alarm, 'alarm.resolved', at, by, note);
      forgetOldClosed();
      return { ok: true, transition: step };
    },

    get: (id) => alarms.get(id),
    history: (id) => histories.get(id) ?? [],
    flapOf: (key) => flaps.get(key),
    takeFlapChanges() {
      const changed: Alarm[] = [];
      for (const id of flapsChanged) {
        const alarm = alarms.get(id);
        if (alarm) changed.push(alarm);
      }
      flapsChanged.clear();
      return changed;
    },

    list: (query) => listAlarms(alarms.values(), query),

    snapshot: () =>
      structuredClone({
        version: 1 as const,
        alarms: [...alarms.values()],
        history: [...histories.entries()],
        flaps: [...flaps.entries()],
      }),

    restore(snapshot) {
      alarms.clear();
      openByKey.clear();
      histories.clear();
      closedOrder.length = 0;
      flaps.clear();
      deadlines = createDeadlineQueue();
      const copy = structuredClone(snapshot);
      for (const [key, record] of copy.flaps ?? []) flaps.set(key, record);
      for (const alarm of copy.alarms) {
        alarms.set(alarm.id, alarm);
        if (alarm.resolved) closedOrder.push(alarm.id);
        else openByKey.set(alarm.key, alarm.id);
        scheduleDeadline(alarm);
      }
      for (const [id, steps] of copy.history) histories.set(id, steps);
    },

    forgetSites(list) {
      const gone = new Set(list);
      for (const [key, id] of openByKey) {
        const alarm = alarms.get(id);
        if (!alarm || !gone.has(alarm.site)) continue;
        openByKey.delete(key);
        alarms.delete(id);
        histories.delete(id);
        flaps.delete(key);
        deadlines.cancel(id);
      }
    },

    adopt(part) {
      const copy = structuredClone(part);
      core.forgetSites(new Set(copy.alarms.map((alarm) => alarm.site)));
      for (const alarm of copy.alarms) {
        if (alarm.resolved) continue;
        alarms.set(alarm.id, alarm);
        openByKey.set(alarm.key, alarm.id);
        histories.set(alarm.id, []);
        scheduleDeadline(alarm);
      }
      for (const [id, steps] of copy.history) if (histories.has(id)) histories.set(id, steps);
      const keys = new Set(copy.alarms.map((alarm) => alarm.key));
      for (const [key, record] of copy.flaps ?? []) if (keys.has(key)) flaps.set(key, record);
    },
  };
  return withSuppression(core, shelving, createInhibition());
}
