/**
 * How long a device counts as sending after its last reading: the worker gives twice the longest a commit waits (20
 * ms). Readings from others within it predict more within the wait (a fleet trickling, devices streaming side by
 * side); a device that streamed until a moment ago and stopped (its backlog sent) stops counting soon after.
 */
export const SENDING_MS = 20;

/**
 * Which devices are sending, for a lane commit that may wait for more readings (worker-thread.ts). A device's
 * connection sends nothing while its publishes wait for their verdicts (aedes reads a connection's next chunk only
 * once every PUBLISH of the last has one), so a commit that waits for the next readings waits for nothing unless a
 * device outside it has been sending lately: a device sending alone is committed at once.
 */
export interface Senders {
  /** `device` sent a reading, judged at `now` (ms) in the commit being made. */
  saw(device: string, now: number): void;
  /** That commit is in the store: none of its devices waits for it any more. */
  committed(): void;
  /** A device with no reading in the commit being made sent within the last `sendingMs` (it may send while it waits). */
  othersSending(now: number): boolean;
}

export function createSenders(sendingMs = SENDING_MS): Senders {
  /** Devices by when they last sent, oldest first: only those within `sendingMs` are kept. */
  const lastSent = new Map<string, number>();
  /** Devices with a reading in the commit being made. */
  const inCommit = new Set<string>();

  const forgetBefore = (since: number): void => {
    for (const [device, at] of lastSent) {
      if (at >= since) return;
      lastSent.delete(device);
    }
  };

  return {
    saw(device, now) {
      inCommit.add(device);
      // to the end: the map stays in the order devices last sent
      lastSent.delete(device);
      lastSent.set(device, now);
    },
    committed: () => inCommit.clear(),
    othersSending(now) {
      forgetBefore(now - sendingMs);
      for (const device of lastSent.keys()) if (!inCommit.has(device)) return true;
      return false;
    },
  };
}
