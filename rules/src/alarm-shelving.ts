import type { Alarm, AlarmEventType, AlarmTransition } from './alarm.js';
import { createDeadlineQueue } from './deadline-queue.js';
import { compareSeverity } from './severity.js';
import { type Shelf, type ShelfScope, shelfCovers, shelfIsOn, shelvedInfoOf } from './shelf.js';

/**
 * The transitions a shelf holds back: what the condition and the clock do. Operator actions (acknowledge, assign,
 * resolve, chase) and shelving itself are always delivered.
 */
export const HELD_TYPES: ReadonlySet<AlarmEventType> = new Set<AlarmEventType>([
  'alarm.raised',
  'alarm.escalated',
  'alarm.deescalated',
  'alarm.cleared',
  'alarm.flapping',
  'alarm.unflapped',
  'alarm.overdue',
]);

/** A request to shelve one alarm, or to declare a maintenance window for a device or a site. */
export interface ShelveRequest {
  id: string;
  scope: ShelfScope;
  /** scope alarm: the alarm's id; otherwise the site (and device). */
  alarm?: string | undefined;
  site?: string | undefined;
  device?: string | undefined;
  reason: string;
  by: string;
  /** ms; a window may begin later (default: now). */
  from: number;
  until: number;
  /** The requester may shelve red (life-safety) alarms: a dispatcher. */
  holdsRed: boolean;
}

export type ShelfError =
  | { code: 'alarm_not_found' }
  | { code: 'alarm_resolved' }
  | { code: 'alarm_already_shelved' }
  | { code: 'shelve_requires_dispatcher' }
  | { code: 'shelf_window_invalid' }
  | { code: 'shelf_not_found' }
  | { code: 'shelf_ended' }
  | { code: 'alarm_in_maintenance_window' };

export type ShelfResult = { ok: true; shelf: Shelf; transitions: AlarmTransition[] } | { ok: false; error: ShelfError };

/** What the shelving needs of the alarm book. */
export interface ShelvingContext {
  get(id: string): Alarm | undefined;
  /** Alarms not resolved (live objects). */
  open(): Iterable<Alarm>;
  transition(alarm: Alarm, type: AlarmEventType, at: number, by?: string | null, note?: string | null): AlarmTransition;
  history(id: string): AlarmTransition[];
}

export interface Shelving {
  /** Marks the transitions a shelf covers as `held` (recorded, not delivered); sets the alarm's `shelved`. */
  hold(steps: AlarmTransition[]): AlarmTransition[];
  shelve(request: ShelveRequest, at: number): ShelfResult;
  /** Ends a shelf before its `until` (`alarm.unshelved` and the current state of what it covered). */
  end(id: string, by: string, note: string | null, at: number): ShelfResult;
  /** Ends the alarm's own shelf (scope alarm); an alarm in a device's or site's window waits for the window's end. */
  unshelveAlarm(alarmId: string, by: string, note: string | null, at: number): ShelfResult;
  /**
   * The alarm is being resolved: if a shelf holds it past its deadline, its `alarm.overdue` now, ahead of the
   * resolve — a shelf hides the condition, never that the alarm was handled late.
   */
  resolving(alarmId: string, at: number): AlarmTransition[];
  /** The alarm was resolved: its own shelf (scope alarm) ends with it, quietly (the resolve was delivered). */
  resolved(alarmId: string, by: string, at: number): void;
  /** Windows that begin and shelves that expire. */
  tick(now: number): AlarmTransition[];
  nextDueAt(): number | null;
  get(id: string): Shelf | undefined;
  list(all: boolean): Shelf[];
  /** Shelves changed since the last call (for a store that saves them). */
  takeChanged(): Shelf[];
  snapshot(): Shelf[];
  restore(shelves: readonly Shelf[] | undefined): void;
  /** The sites went to another gateway node: their shelves leave (the node that takes a site takes its shelves). */
  forgetSites(sites: ReadonlySet<string>): void;
  /** Takes over shelves another gateway node kept (of the sites it gave up): what this held of those sites goes first. */
  adopt(shelves: readonly Shelf[]): void;
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** The note of `alarm.unshelved` when a red step took the alarm out of a shelf that may not hold red. */
const RED_RELEASE = 'red: this shelf does not hold red alarms';
const START = 'start:';
const END = 'end:';

/**
 * Shelving (搁置) and maintenance windows. While a shelf is on, the transitions it holds are recorded in the alarm's
 * history with `held` (the shelf's id) and not delivered; red ones only when a dispatcher put it on. When it ends,
 * `alarm.unshelved` goes out, then the transition that brings consumers from what they last saw to the current
 * state (an alarm raised during the window appears as `alarm.raised`). Pure: the caller gives the time.
 */
export function createShelving(ctx: ShelvingContext, options: { maxEnded?: number } = {}): Shelving {
  const maxEnded = options.maxEnded ?? 1_000;
  const shelves = new Map<string, Shelf>();
  const ended: string[] = [];
  const changed = new Set<string>();
  let timers = createDeadlineQueue();

  const redInvolved = (alarm: Alarm): boolean => alarm.severity === 'red' || alarm.previousSeverity === 'red';
  const holds = (shelf: Shelf, alarm: Alarm): boolean => shelf.holdsRed || !redInvolved(alarm);

  const coveringShelf = (alarm: Alarm, at: number, except?: string): Shelf | undefined => {
    const own = alarm.shelved ? shelves.get(alarm.shelved.shelf) : undefined;
    if (own && own.id !== except && shelfIsOn(own, at) && shelfCovers(own, alarm)) return own;
    for (const shelf of shelves.values()) if (shelf.id !== except && shelfIsOn(shelf, at) && shelfCovers(shelf, alarm)) return shelf;
    return undefined;
  };

  const markEnded = (shelf: Shelf, by: string | null, at: number): void => {
    shelf.endedAt = iso(at);
    shelf.endedBy = by;
    timers.cancel(START + shelf.id);
    timers.cancel(END + shelf.id);
    changed.add(shelf.id);
    ended.push(shelf.id);
    while (ended.length > maxEnded) shelves.delete(ended.shift() as string);
  };

  /**
   * The transitions that show consumers the alarm's current state after what they last saw (a delivered step): its
   * state, and a deadline it missed while held.
   */
  /** Its `alarm.overdue`, if it is overdue and none was delivered (a shelf held it). */
  const lateness = (alarm: Alarm, at: number): AlarmTransition[] =>
    alarm.overdue && !ctx.history(alarm.id).some((step) => step.type === 'alarm.overdue' && !step.held)
      ? [ctx.transition(alarm, 'alarm.overdue', at)]
      : [];

  const catchUp = (alarm: Alarm, at: number): AlarmTransition[] => {
    const steps = ctx.history(alarm.id);
    let shown: Alarm | null = null;
    for (let i = steps.length - 2; i >= 0; i -= 1) {
      const step = steps[i] as AlarmTransition;
      if (!step.held) {
        shown = step.alarm;
        break;
      }
    }
    return [...stateCatchUp(alarm, shown, at), ...lateness(alarm, at)];
  };

  const stateCatchUp = (alarm: Alarm, shown: Alarm | null, at: number): AlarmTransition[] => {
    if (alarm.state === 'active') {
      // cleared and back while held is a new occurrence, which needs a new acknowledgement: raised again
      if (!shown || shown.state === 'cleared' || alarm.occurrences > shown.occurrences) {
        alarm.previousSeverity = null;
        return [ctx.transition(alarm, 'alarm.raised', at)];
      }
      const direction = compareSeverity(alarm.severity, shown.severity);
      if (direction === 0) return [];
      alarm.previousSeverity = shown.severity;
      return [ctx.transition(alarm, direction > 0 ? 'alarm.escalated' : 'alarm.deescalated', at)];
    }
    return shown?.state === 'active' ? [ctx.transition(alarm, 'alarm.cleared', at)] : [];
  };

  /** Takes one alarm out of its shelf: into another that covers it, or out (`alarm.unshelved` and its state). */
  const release = (alarm: Alarm, from: Shelf, by: string | null, note: string | null, at: number): AlarmTransition[] => {
    const other = coveringShelf(alarm, at, from.id);
    if (other && holds(other, alarm)) {
      alarm.shelved = shelvedInfoOf(other);
      return [ctx.transition(alarm, 'alarm.shelved', at, other.by, other.reason)];
    }
    alarm.shelved = null;
    return [ctx.transition(alarm, 'alarm.unshelved', at, by, note), ...catchUp(alarm, at)];
  };

  const start = (shelf: Shelf, at: number): AlarmTransition[] => {
    const out: AlarmTransition[] = [];
    for (const alarm of ctx.open()) {
      if (alarm.shelved || !shelfCovers(shelf, alarm) || !holds(shelf, alarm)) continue;
      alarm.shelved = shelvedInfoOf(shelf);
      out.push(ctx.transition(alarm, 'alarm.shelved', at, shelf.by, shelf.reason));
    }
    return out;
  };

  const finish = (shelf: Shelf, by: string | null, note: string | null, at: number): AlarmTransition[] => {
    markEnded(shelf, by, at);
    const out: AlarmTransition[] = [];
    for (const alarm of [...ctx.open()]) if (alarm.shelved?.shelf === shelf.id) out.push(...release(alarm, shelf, by, note, at));
    return out;
  };

  const schedule = (shelf: Shelf): void => {
    // a window that began when it was declared has started; a later one starts on the clock (again after a
    // restart: starting is idempotent, it shelves only what is not yet shelved)
    if (Date.parse(shelf.from) > Date.parse(shelf.createdAt)) timers.schedule(START + shelf.id, Date.parse(shelf.from));
    timers.schedule(END + shelf.id, Date.parse(shelf.until));
  };

  /** Holds copies of these shelves, their timers set (an ended one among the ended, the oldest of which go first). */
  const keep = (list: readonly Shelf[]): void => {
    for (const shelf of structuredClone(list)) {
      shelves.set(shelf.id, shelf);
      if (shelf.endedAt === null) schedule(shelf);
      else ended.push(shelf.id);
    }
    while (ended.length > maxEnded) shelves.delete(ended.shift() as string);
  };

  const forget = (id: string): void => {
    if (!shelves.delete(id)) return;
    timers.cancel(START + id);
    timers.cancel(END + id);
    changed.delete(id);
    const at = ended.indexOf(id);
    if (at >= 0) ended.splice(at, 1);
  };

  const forgetSites = (sites: ReadonlySet<string>): void => {
    for (const shelf of [...shelves.values()]) if (sites.has(shelf.site)) forget(shelf.id);
  };

  return {
    hold(steps) {
      /**
       * Alarms a red step took out of a shelf that may not hold red, by id: released after the batch's steps (`seq`
       * order), their later steps in the batch held with it (the release shows what they did).
       */
      const released = new Map<string, { alarm: Alarm; from: Shelf; at: number }>();
      steps.forEach((step, index) => {
        if (!HELD_TYPES.has(step.type)) return;
        const live = ctx.get(step.alarm.id);
        if (!live) return;
        const releasing = released.get(live.id);
        if (releasing) {
          step.held = releasing.from.id;
          return;
        }
        const shelf = coveringShelf(live, step.at);
        if (!shelf) return;
        if (!holds(shelf, step.alarm)) {
          // A shelf that may not hold red lets the alarm go: the shelf covers it no more, and it is released as at a
          // shelf's end (`alarm.unshelved`, then what consumers missed: the red step with what it held before), or
          // into another shelf that holds red. A red alarm is chased.
          if (live.shelved?.shelf === shelf.id) {
            step.held = shelf.id;
            // the alarm's own shelf ends with it; a window covers it no more
            if (shelf.scope === 'alarm') markEnded(shelf, null, step.at);
            else {
              shelf.released = [...(shelf.released ?? []), live.id];
              changed.add(shelf.id);
            }
            released.set(live.id, { alarm: live, from: shelf, at: step.at });
          }
          return;
        }
        step.held = shelf.id;
        if (live.shelved) return;
        // an alarm raised (or first held) during a window: it is shelved from here, silently
        const info = shelvedInfoOf(shelf);
        live.shelved = info;
        for (const later of steps.slice(index)) if (later.alarm.id === live.id) later.alarm.shelved = info;
      });
      for (const { alarm, from, at } of released.values()) steps.push(...release(alarm, from, null, RED_RELEASE, at));
      return steps;
    },

    shelve(request, at) {
      if (!(request.until > at && request.until > request.from)) return { ok: false, error: { code: 'shelf_window_invalid' } };
      let site = request.site ?? '';
      let device = request.device ?? null;
      if (request.scope === 'alarm') {
        const alarm = request.alarm === undefined ? undefined : ctx.get(request.alarm);
        if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
        if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
        if (alarm.shelved) return { ok: false, error: { code: 'alarm_already_shelved' } };
        if (redInvolved(alarm) && !request.holdsRed) return { ok: false, error: { code: 'shelve_requires_dispatcher' } };
        site = alarm.site;
        device = alarm.device;
      }
      const shelf: Shelf = {
        id: request.id,
        scope: request.scope,
        site,
        device: request.scope === 'site' ? null : device,
        alarm: request.scope === 'alarm' ? (request.alarm ?? null) : null,
        reason: request.reason,
        by: request.by,
        from: iso(Math.max(request.from, request.scope === 'alarm' ? at : request.from)),
        until: iso(request.until),
        holdsRed: request.holdsRed,
        createdAt: iso(at),
        endedAt: null,
        endedBy: null,
      };
      shelves.set(shelf.id, shelf);
      changed.add(shelf.id);
      schedule(shelf);
      const transitions = shelfIsOn(shelf, at) ? start(shelf, at) : [];
      return { ok: true, shelf: structuredClone(shelf), transitions };
    },

    end(id, by, note, at) {
      const shelf = shelves.get(id);
      if (!shelf) return { ok: false, error: { code: 'shelf_not_found' } };
      if (shelf.endedAt !== null) return { ok: false, error: { code: 'shelf_ended' } };
      const transitions = finish(shelf, by, note, at);
      return { ok: true, shelf: structuredClone(shelf), transitions };
    },

    unshelveAlarm(alarmId, by, note, at) {
      const alarm = ctx.get(alarmId);
      if (!alarm) return { ok: false, error: { code: 'alarm_not_found' } };
      if (alarm.resolved) return { ok: false, error: { code: 'alarm_resolved' } };
      const shelf = alarm.shelved ? shelves.get(alarm.shelved.shelf) : undefined;
      if (!shelf) return { ok: false, error: { code: 'shelf_not_found' } };
      // a device's or site's window is ended as a whole (`end`), not alarm by alarm
      if (shelf.scope !== 'alarm') return { ok: false, error: { code: 'alarm_in_maintenance_window' } };
      const transitions = finish(shelf, by, note, at);
      return { ok: true, shelf: structuredClone(shelf), transitions };
    },

    resolving(alarmId, at) {
      const alarm = ctx.get(alarmId);
      return alarm?.shelved ? lateness(alarm, at) : [];
    },

    resolved(alarmId, by, at) {
      for (const shelf of shelves.values())
        if (shelf.scope === 'alarm' && shelf.alarm === alarmId && shelf.endedAt === null) markEnded(shelf, by, at);
    },

    tick(now) {
      const out: AlarmTransition[] = [];
      for (const key of timers.popDue(now)) {
        const isStart = key.startsWith(START);
        const shelf = shelves.get(key.slice(isStart ? START.length : END.length));
        if (!shelf || shelf.endedAt !== null) continue;
        if (isStart) {
          if (shelfIsOn(shelf, now)) out.push(...start(shelf, now));
        } else out.push(...finish(shelf, null, null, now));
      }
      return out;
    },

    nextDueAt: () => timers.nextDueAt(),
    get: (id) => shelves.get(id),
    list: (all) =>
      [...shelves.values()]
        .filter((shelf) => all || shelf.endedAt === null)
        .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1))
        .map((shelf) => structuredClone(shelf)),
    takeChanged() {
      const out = [...changed].map((id) => shelves.get(id)).filter((s): s is Shelf => s !== undefined);
      changed.clear();
      return out.map((shelf) => structuredClone(shelf));
    },
    snapshot: () => structuredClone([...shelves.values()]),
    restore(list) {
      shelves.clear();
      ended.length = 0;
      changed.clear();
      timers = createDeadlineQueue();
      keep(list ?? []);
    },
    forgetSites,
    adopt(list) {
      forgetSites(new Set(list.map((shelf) => shelf.site)));
      keep(list);
    },
  };
}
