/** How many sequence numbers per device are remembered. */
export const SEQ_WINDOW = 4096;

/**
 * Spots repeated `seq` values per device (QoS 1 redelivery, re-sent backlogs), also when they arrive out
 * of order. A repeat is the same `seq` with the same device time: a device that rebooted and restarted
 * its counter sends old numbers with new times, and those are accepted (and replace the old entries).
 * Readings without a device time are compared by `seq` alone.
 */
export interface SeqWindow {
  /** True when the reading is new (and records it); false for a duplicate. */
  accept(device: string, seq: number, deviceTs: number | null): boolean;
}

export function createSeqWindow(): SeqWindow {
  const windows = new Map<string, Map<number, number | null>>();
  return {
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
      if (seen.size > SEQ_WINDOW) {
        const oldest = seen.keys().next().value as number;
        seen.delete(oldest);
      }
      return true;
    },
  };
}
