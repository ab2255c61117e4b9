import type { Alarm, Shelf, ShelfError, ShelfResult } from '../../../rules/src/index.js';
import type { DeviceRegistry } from '../devices/device-registry.js';
import type { ErrorCode } from '../errors.js';
import type { AlarmService } from './alarm-service.js';

/** Who acts, and whether they may shelve red (life-safety) alarms: a dispatcher or admin. */
export interface ShelfActor {
  name: string;
  mayShelveRed: boolean;
}

/** When a window begins and ends: `until`, or `durationMinutes` from its beginning (ms for the times). */
export interface WindowTimes {
  from?: number | undefined;
  until?: number | undefined;
  durationMinutes?: number | undefined;
}

export type ShelfOutcome = { ok: true; shelf: Shelf; alarm: Alarm | null } | { ok: false; code: ErrorCode; message: string };

/** In a cluster: there is no node judging the action's site now, or it could not be reached: nothing was done. */
export const SITE_OWNER_UNAVAILABLE: ShelfOutcome = {
  ok: false,
  code: 'cluster_unavailable',
  message: 'the gateway node that judges the site could not be reached (nothing was done): try again',
};

/**
 * In a cluster: the node that judges the site was sent the action and did not answer in time. It may have taken it
 * (a slow shared store): a second try could declare a second window.
 */
export const SITE_OWNER_SILENT: ShelfOutcome = {
  ok: false,
  code: 'cluster_unavailable',
  message:
    'the gateway node that judges the site did not answer in time; it may have taken the action: see GET /api/shelves before trying again',
};

/** Where a maintenance window applies: a device (its site from the registry) or a whole site. */
export interface WindowPlace {
  scope: 'device' | 'site';
  site?: string | undefined;
  device?: string | undefined;
}

/** A shelving action as plain data: taken here, or in a cluster sent to the node that judges its site. */
export type ShelfAction =
  | { kind: 'shelveAlarm'; alarmId: string; reason: string; times: WindowTimes; actor: ShelfActor }
  | { kind: 'unshelveAlarm'; alarmId: string; note: string | null; actor: ShelfActor }
  | { kind: 'declareWindow'; where: WindowPlace; reason: string; times: WindowTimes; actor: ShelfActor }
  | { kind: 'endShelf'; id: string; note: string | null; actor: ShelfActor };

/**
 * What the API offers of shelving: actions (in a cluster taken where their site is judged: cluster/shelf-actions.ts)
 * and the shelves there are (in a cluster, every node's).
 */
export interface ShelfDesk {
  act(action: ShelfAction): Promise<ShelfOutcome>;
  list(all: boolean): Shelf[];
  get(id: string): Shelf | undefined;
}

export interface ShelfService {
  /** Shelves one alarm until a time, with a reason: `alarm.shelved`. */
  shelveAlarm(alarmId: string, reason: string, times: WindowTimes, actor: ShelfActor): ShelfOutcome;
  /** Ends an alarm's shelf before it expires: `alarm.unshelved` and its current state. */
  unshelveAlarm(alarmId: string, note: string | null, actor: ShelfActor): ShelfOutcome;
  /** Declares a maintenance window for a device or a whole site. */
  declareWindow(where: WindowPlace, reason: string, times: WindowTimes, actor: ShelfActor): ShelfOutcome;
  /** Ends a shelf or window before it expires. */
  end(id: string, note: string | null, actor: ShelfActor): ShelfOutcome;
  list(all: boolean): Shelf[];
  get(id: string): Shelf | undefined;
}

export interface ShelfServiceDeps {
  alarms: AlarmService;
  registry: DeviceRegistry;
  now(): number;
  newShelfId(): string;
  /** handling.shelving.maxDuration, ms. */
  maxDurationMs: number;
}

const MESSAGES: Record<ShelfError['code'], string> = {
  alarm_not_found: 'no such alarm',
  alarm_resolved: 'the alarm is resolved',
  alarm_already_shelved: 'the alarm is already shelved',
  shelve_requires_dispatcher: 'a red (life-safety) alarm is shelved only by a dispatcher',
  shelf_window_invalid: 'the window must end in the future and after it begins',
  shelf_not_found: 'no such shelf',
  shelf_ended: 'the shelf has already ended',
  alarm_in_maintenance_window: "the alarm is in a device's or site's maintenance window: end the window",
};

const refused = (error: ShelfError, what: string): ShelfOutcome => ({
  ok: false,
  code: error.code,
  message: `${what}: ${MESSAGES[error.code]}`,
});

/**
 * Shelving and maintenance windows as the API offers them: checks the window against the clock, the configured
 * longest window and the device registry, then runs the book's step in one commit of the store.
 */
export function createShelfService(deps: ShelfServiceDeps): ShelfService {
  const { alarms } = deps;

  /** The window in ms, or why not. */
  const windowOf = (times: WindowTimes, at: number): { from: number; until: number } | ShelfOutcome => {
    const from = times.from ?? at;
    const until = times.until ?? from + (times.durationMinutes ?? 0) * 60_000;
    if (until <= at) return { ok: false, code: 'shelf_window_invalid', message: 'until is not in the future' };
    if (until <= from) return { ok: false, code: 'shelf_window_invalid', message: 'until is not after from' };
    if (until - Math.max(from, at) > deps.maxDurationMs) {
      return {
        ok: false,
        code: 'shelf_too_long',
        message: `the window is longer than handling.shelving.maxDuration (${Math.round(deps.maxDurationMs / 60_000)} min)`,
      };
    }
    return { from, until };
  };

  const run = (step: (at: number) => ShelfResult, what: string): ShelfOutcome =>
    alarms.record((at) => {
      const result = step(at);
      if (!result.ok) return { result: refused(result.error, what), transitions: [] };
      const alarm = result.shelf.alarm === null ? null : (alarms.book.get(result.shelf.alarm) ?? null);
      return { result: { ok: true, shelf: result.shelf, alarm: alarm && { ...alarm } }, transitions: result.transitions };
    });

  return {
    shelveAlarm(alarmId, reason, times, actor) {
      const window = windowOf({ until: times.until, durationMinutes: times.durationMinutes }, deps.now());
      if ('ok' in window) return window;
      return run(
        (at) =>
          alarms.book.shelving.shelve(
            {
              id: deps.newShelfId(),
              scope: 'alarm',
              alarm: alarmId,
              reason,
              by: actor.name,
              from: at,
              until: window.until,
              holdsRed: actor.mayShelveRed,
            },
            at,
          ),
        `cannot shelve alarm ${alarmId}`,
      );
    },

    unshelveAlarm: (alarmId, note, actor) =>
      run((at) => alarms.book.shelving.unshelveAlarm(alarmId, actor.name, note, at), `cannot unshelve alarm ${alarmId}`),

    declareWindow(where, reason, times, actor) {
      let site = where.site;
      if (where.scope === 'device') {
        const device = where.device === undefined ? undefined : deps.registry.get(where.device);
        if (!device) return { ok: false, code: 'device_not_found', message: `no device ${where.device ?? ''} in the registry` };
        if (site !== undefined && site !== device.site) {
          return { ok: false, code: 'shelf_window_invalid', message: `device ${device.id} is on site ${device.site}, not ${site}` };
        }
        site = device.site;
      } else if (site === undefined || ![...deps.registry.all()].some((device) => device.site === site)) {
        return { ok: false, code: 'site_not_found', message: `no device of the registry is on site ${site ?? ''}` };
      }
      const window = windowOf(times, deps.now());
      if ('ok' in window) return window;
      return run(
        (at) =>
          alarms.book.shelving.shelve(
            {
              id: deps.newShelfId(),
              scope: where.scope,
              site,
              device: where.scope === 'device' ? where.device : undefined,
              reason,
              by: actor.name,
              from: window.from,
              until: window.until,
              holdsRed: actor.mayShelveRed,
            },
            at,
          ),
        'cannot declare the window',
      );
    },

    end: (id, note, actor) => run((at) => alarms.book.shelving.end(id, actor.name, note, at), `cannot end ${id}`),
    list: (all) => alarms.book.shelving.list(all),
    get: (id) => {
      const shelf = alarms.book.shelving.get(id);
      return shelf && structuredClone(shelf);
    },
  };
}

/** Takes a shelving action on this node's alarm book. */
export function performShelfAction(shelves: ShelfService, action: ShelfAction): ShelfOutcome {
  switch (action.kind) {
    case 'shelveAlarm':
      return shelves.shelveAlarm(action.alarmId, action.reason, action.times, action.actor);
    case 'unshelveAlarm':
      return shelves.unshelveAlarm(action.alarmId, action.note, action.actor);
    case 'declareWindow':
      return shelves.declareWindow(action.where, action.reason, action.times, action.actor);
    case 'endShelf':
      return shelves.end(action.id, action.note, action.actor);
  }
}

/** A single node's desk: every action taken here. */
export const localShelfDesk = (shelves: ShelfService): ShelfDesk => ({
  act: async (action) => performShelfAction(shelves, action),
  list: (all) => shelves.list(all),
  get: (id) => shelves.get(id),
});
