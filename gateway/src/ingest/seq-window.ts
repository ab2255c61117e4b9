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

/** Where the window keeps what it saw (the local store), so that a replay after a restart is still a duplicate. */
export interface SeqMemory {
  load(): Iterable<[device: string, seq: number, ts: number | null]>;
  remember(device: string, seq: number, ts: number | null): void;
  forget(device: string, seq: number): void;
}

export function createSeqWindow(memory?: SeqMemory): SeqWindow {
  const windows = new Map<string, Map<number, number | null>>();
  const windowOf = (device: string): Map<number, number | null> => {
    let seen = windows.get(device);
    if (!seen) {
      seen = new Map();
      windows.set(device, seen);
    }
    return seen;
  };
  if (memory) for (const [device, seq, ts] of memory.load()) windowOf(device).set(seq, ts);
  return {
    accept(device, seq, deviceTs) {
      const seen = windowOf(device);
      if (seen.has(seq)) {
        const earlier = seen.get(seq) ?? null;
        if (earlier === deviceTs || earlier === null || deviceTs === null) return false;
        seen.delete(seq);
      }
      seen.set(seq, deviceTs);
      memory?.remember(device, seq, deviceTs);
      if (seen.size > SEQ_WINDOW) {
        const oldest = seen.keys().next().value as number;
        seen.delete(oldest);
        memory?.forget(device, oldest);
      }
      return true;
    },
  };
}
