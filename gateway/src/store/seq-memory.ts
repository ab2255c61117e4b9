import type { SeqMemory } from '../ingest/seq-window.js';
import type { StoreDatabase } from './open-store.js';

/** The de-duplication window's memory in the local store (the SeqMemory adapter), oldest first per device. */
export function createSqliteSeqMemory(db: StoreDatabase): SeqMemory {
  const all = db.prepare('SELECT device, seq, ts FROM seen_seq ORDER BY rowid').raw(true);
  const upsert = db.prepare('INSERT OR REPLACE INTO seen_seq (device, seq, ts) VALUES (?, ?, ?)');
  const remove = db.prepare('DELETE FROM seen_seq WHERE device = ? AND seq = ?');
  return {
    load: () => all.all() as Array<[string, number, number | null]>,
    remember: (device, seq, ts) => {
      upsert.run(device, seq, ts);
    },
    forget: (device, seq) => {
      remove.run(device, seq);
    },
  };
}
