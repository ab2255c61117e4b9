import type { KeptQuarantineEntry, QuarantineEntry, QuarantineKeep } from '../ingest/quarantine.js';
import type { StoreDatabase } from './open-store.js';

/**
 * The quarantine in the local store: a row per entry the quarantine holds, its rank the id. The quarantine decides
 * which entry a new one pushes out (its source's oldest, or the oldest of all); the row goes in the same commit as
 * the new one, by its rank (the primary key: no scan). Rows are not grouped by source here, so no column holds it.
 */
export function createSqliteQuarantineKeep(db: StoreDatabase): QuarantineKeep {
  const newest = db
    .prepare('SELECT rank, entry FROM (SELECT rank, entry FROM quarantine ORDER BY rank DESC LIMIT ?) ORDER BY rank')
    .raw(true);
  const forgetOlder = db.prepare('DELETE FROM quarantine WHERE rank < ?');
  const insert = db.prepare('INSERT INTO quarantine (entry) VALUES (?)');
  const remove = db.prepare('DELETE FROM quarantine WHERE rank = ?');
  const add = db.transaction((entry: string, forgetting: number | undefined): number => {
    if (forgetting !== undefined) remove.run(forgetting);
    return Number(insert.run(entry).lastInsertRowid);
  });
  const forget = db.transaction((ids: readonly number[]) => {
    for (const id of ids) remove.run(id);
  });
  return {
    load(size) {
      const rows = newest.all(size) as Array<[number, string]>;
      const first = rows[0];
      if (first) forgetOlder.run(first[0]);
      return rows.map(([id, text]): KeptQuarantineEntry => ({ id, entry: JSON.parse(text) as QuarantineEntry }));
    },
    add: (entry, forgetting) => add(JSON.stringify(entry), forgetting),
    forget: (ids) => forget(ids),
  };
}
