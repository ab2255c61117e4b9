import type { QuarantineEntry, QuarantineKeep } from '../ingest/quarantine.js';
import type { StoreDatabase } from './open-store.js';

/** The quarantine in the local store: a row per refused payload, the oldest forgotten past the bound. */
export function createSqliteQuarantineKeep(db: StoreDatabase): QuarantineKeep {
  const newest = db.prepare('SELECT entry FROM (SELECT rank, entry FROM quarantine ORDER BY rank DESC LIMIT ?) ORDER BY rank').pluck();
  const insert = db.prepare('INSERT INTO quarantine (entry) VALUES (?)');
  const trim = db.prepare('DELETE FROM quarantine WHERE rank <= ?');
  return {
    load: (capacity) => (newest.all(capacity) as string[]).map((text) => JSON.parse(text) as QuarantineEntry),
    add(entry, capacity) {
      const rank = Number(insert.run(JSON.stringify(entry)).lastInsertRowid);
      if (rank > capacity) trim.run(rank - capacity);
    },
  };
}
