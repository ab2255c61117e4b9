import Database from 'better-sqlite3';
import { type Alarm, type AlarmTransition, INHIBITED_KEPT, type InhibitionSnapshot, type Shelf } from '../../../rules/src/index.js';
import type { AlarmStore } from '../alarms/alarm-store.js';
import type { StoreDatabase } from './open-store.js';

/** Ended shelves kept for GET /api/shelves?state=all (the book keeps as many). */
const MAX_ENDED_SHELVES = 1_000;

export function createSqliteAlarmStore(db: StoreDatabase): AlarmStore {
  const putAlarm = db.prepare('INSERT OR REPLACE INTO alarm (id, key, resolved_at, body) VALUES (?, ?, ?, ?)');
  const putStep = db.prepare('INSERT OR REPLACE INTO alarm_transition (alarm_id, seq, step) VALUES (?, ?, ?)');
  const putFlap = db.prepare('INSERT OR REPLACE INTO alarm_flap (key, record) VALUES (?, ?)');
  const dropFlap = db.prepare('DELETE FROM alarm_flap WHERE key = ?');
  const openAlarms = db.prepare('SELECT body FROM alarm WHERE resolved_at IS NULL').pluck();
  const closedAlarms = db.prepare('SELECT body FROM alarm WHERE resolved_at IS NOT NULL ORDER BY resolved_at DESC LIMIT ?').pluck();
  const stepsOf = db.prepare('SELECT step FROM alarm_transition WHERE alarm_id = ? ORDER BY seq').pluck();
  const flaps = db.prepare('SELECT key, record FROM alarm_flap').raw(true);
  const pruneSteps = db.prepare(
    'DELETE FROM alarm_transition WHERE alarm_id IN (SELECT id FROM alarm WHERE resolved_at IS NOT NULL AND resolved_at < ?)',
  );
  const pruneAlarms = db.prepare('DELETE FROM alarm WHERE resolved_at IS NOT NULL AND resolved_at < ?');
  const putShelf = db.prepare('INSERT OR REPLACE INTO alarm_shelf (id, ended_at, body) VALUES (?, ?, ?)');
  const liveShelves = db.prepare('SELECT body FROM alarm_shelf WHERE ended_at IS NULL').pluck();
  const endedShelves = db.prepare('SELECT body FROM alarm_shelf WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?').pluck();
  const pruneShelves = db.prepare(
    'DELETE FROM alarm_shelf WHERE ended_at IS NOT NULL AND id NOT IN (SELECT id FROM alarm_shelf WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?)',
  );
  // A key not saved yet gets the next ord (its rowid); a saved one keeps its place.
  const putInhibitor = db.prepare(
    'INSERT INTO alarm_inhibitor (key, body) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET body = excluded.body',
  );
  const dropInhibitor = db.prepare('DELETE FROM alarm_inhibitor WHERE key = ?');
  const inhibitors = db.prepare('SELECT body FROM alarm_inhibitor ORDER BY ord').pluck();
  const putHeld = db.prepare(
    'INSERT INTO alarm_held (key, metric, change) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET metric = excluded.metric, change = excluded.change',
  );
  const dropHeld = db.prepare('DELETE FROM alarm_held WHERE key = ?');
  const held = db.prepare('SELECT key, metric, change FROM alarm_held ORDER BY ord').raw(true);
  const putInhibited = db.prepare('INSERT INTO alarm_inhibited (body) VALUES (?)');
  const pruneInhibited = db.prepare('DELETE FROM alarm_inhibited WHERE id <= (SELECT max(id) FROM alarm_inhibited) - ?');
  const inhibited = db.prepare('SELECT body FROM (SELECT id, body FROM alarm_inhibited ORDER BY id DESC LIMIT ?) ORDER BY id').pluck();

  const loadInhibition = (): InhibitionSnapshot => {
    const rows = held.all() as Array<[string, string | null, string]>;
    return {
      inhibitors: (inhibitors.all() as string[]).map((text) => JSON.parse(text)),
      latent: rows.map(([key, , change]) => [key, JSON.parse(change)]),
      // NULL: held before a gateway recorded the metric (restore takes the change's own then)
      heldMetrics: rows.filter(([, metric]) => metric !== null).map(([key, metric]) => [key, JSON.parse(metric as string)]),
      recent: (inhibited.all(INHIBITED_KEPT) as string[]).map((text) => JSON.parse(text)),
    };
  };

  return {
    load(maxClosed) {
      const closed = (closedAlarms.all(maxClosed) as string[]).reverse();
      const alarms = [...(openAlarms.all() as string[]), ...closed].map((text) => JSON.parse(text) as Alarm);
      const history = alarms.map(
        (alarm) =>
          [alarm.id, (stepsOf.all(alarm.id) as string[]).map((text) => JSON.parse(text) as AlarmTransition)] as [string, AlarmTransition[]],
      );
      return {
        version: 1,
        alarms,
        history,
        flaps: (flaps.all() as Array<[string, string]>).map(([key, record]) => [key, JSON.parse(record)]),
        shelves: [...(endedShelves.all(MAX_ENDED_SHELVES) as string[]).reverse(), ...(liveShelves.all() as string[])].map(
          (text) => JSON.parse(text) as Shelf,
        ),
        inhibition: loadInhibition(),
      };
    },
    record(steps, flapOf) {
      const keys = new Set<string>();
      // the alarm row takes the state after the last of its steps
      const last = new Map<string, Alarm>();
      for (const step of steps) {
        putStep.run(step.alarm.id, step.alarm.seq, JSON.stringify(step));
        last.set(step.alarm.id, step.alarm);
        keys.add(step.alarm.key);
      }
      for (const alarm of last.values()) {
        const resolvedAt = alarm.resolvedAt === null ? null : Date.parse(alarm.resolvedAt);
        putAlarm.run(alarm.id, alarm.key, resolvedAt, JSON.stringify(alarm));
      }
      this.saveFlaps(keys, flapOf);
    },
    saveFlaps(keys, flapOf) {
      for (const key of keys) {
        const record = flapOf(key);
        if (record) putFlap.run(key, JSON.stringify(record));
        else dropFlap.run(key);
      }
    },
    saveShelves(shelves) {
      for (const shelf of shelves) putShelf.run(shelf.id, shelf.endedAt === null ? null : Date.parse(shelf.endedAt), JSON.stringify(shelf));
      if (shelves.some((shelf) => shelf.endedAt !== null)) pruneShelves.run(MAX_ENDED_SHELVES);
    },
    saveInhibition(changes) {
      for (const key of changes.ended) dropInhibitor.run(key);
      for (const inhibitor of changes.inhibitors) putInhibitor.run(inhibitor.key, JSON.stringify(inhibitor));
      for (const key of changes.released) dropHeld.run(key);
      for (const { change, metric } of changes.held) putHeld.run(change.key, JSON.stringify(metric), JSON.stringify(change));
      for (const entry of changes.recent) putInhibited.run(JSON.stringify(entry));
      if (changes.recent.length > 0) pruneInhibited.run(INHIBITED_KEPT);
    },
    prune(before) {
      pruneSteps.run(before);
      return pruneAlarms.run(before).changes;
    },
    commit: (work) => db.transaction(work)(),
    // SQLite may have rolled the transaction back already (SQLITE_FULL does): swallowed, the commit would fail with
    // "no transaction is active" and the cause would be lost
    failedWith: (error) => error instanceof Database.SqliteError,
  };
}
