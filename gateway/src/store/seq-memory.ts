import type { SeqMemory } from '../ingest/seq-window.js';
import type { StoreDatabase } from './open-store.js';
import { createWriteBuffer, type WriteBuffer } from './write-buffer.js';

/**
 * The de-duplication window's memory in the local store (the SeqMemory adapter), oldest first per device. `later`:
 * the lane's write buffer (its writes run in the lane's commit); default: at once.
 */
export function createSqliteSeqMemory(db: StoreDatabase, later: WriteBuffer = createWriteBuffer()): SeqMemory {
  const all = db.prepare('SELECT device, seq, ts FROM seen_seq ORDER BY rowid').raw(true);
  const upsert = db.prepare('INSERT OR REPLACE INTO seen_seq (device, seq, ts) VALUES (?, ?, ?)');
  const remove = db.prepare('DELETE FROM seen_seq WHERE device = ? AND seq = ?');
  return {
    load: () => all.all() as Array<[string, number, number | null]>,
    remember: (device, seq, ts) => {
      later.add(() => upsert.run(device, seq, ts));
    },
    forget: (device, seq) => {
      later.add(() => remove.run(device, seq));
    },
  };
}
