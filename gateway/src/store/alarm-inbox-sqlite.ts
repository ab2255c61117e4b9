import type { VerdictChange } from '../../../rules/src/index.js';
import type { AlarmInbox } from '../alarms/alarm-inbox.js';
import type { StoreDatabase } from './open-store.js';

/**
 * Verdict changes between the telemetry lane's commit and the alarm book's: the lane puts them in the same commit
 * as the readings (and engine state) that caused them; the alarm book takes them out in the commit where it
 * records what they did. A crash in between leaves them here, and the next start applies them first.
 */
export function createSqliteAlarmInbox(db: StoreDatabase): AlarmInbox {
  const insert = db.prepare('INSERT INTO alarm_inbox (change) VALUES (?)');
  const waiting = db.prepare('SELECT id, change FROM alarm_inbox ORDER BY id').raw(true);
  const remove = db.prepare('DELETE FROM alarm_inbox WHERE id <= ?');
  return {
    put(changes) {
      let last = 0;
      for (const change of changes) last = Number(insert.run(JSON.stringify(change)).lastInsertRowid);
      return last;
    },
    waiting() {
      const rows = waiting.all() as Array<[number, string]>;
      if (rows.length === 0) return null;
      return { changes: rows.map((row) => JSON.parse(row[1]) as VerdictChange), upTo: (rows[rows.length - 1] as [number, string])[0] };
    },
    taken(upTo) {
      remove.run(upTo);
    },
  };
}
