import { SEQ_WINDOW, type SeqWindow } from '../../gateway/src/ingest/seq-window.js';

/**
 * The de-duplication window as the gateway kept it before its ring (5174a12): a Map of seq → device time per device,
 * the last SEQ_WINDOW distinct `seq`. The reference the shipped window must answer as (seq-window.test.ts), and the
 * side it is measured against (bench/seq-window.ts).
 */
export function mapSeqWindow(): SeqWindow {
  const windows = new Map<string, Map<number, number | null>>();
  return {
    adopt() {
      throw new Error('the reference window does not model what a cluster hands over');
    },
    accept(device, seq, deviceTs) {
      let seen = windows.get(device);
      if (!seen) {
        seen = new Map();
        windows.set(device, seen);
      }
      if (seen.has(seq)) {
        const earlier = seen.get(seq) ?? null;
        if (earlier === deviceTs || earlier === null || deviceTs === null) return false;
        seen.delete(seq);
      }
      seen.set(seq, deviceTs);
      if (seen.size > SEQ_WINDOW) seen.delete(seen.keys().next().value as number);
      return true;
    },
  };
}
