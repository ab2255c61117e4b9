import type { TelemetryLane } from '../lane/telemetry-lane.js';

/**
 * In a cluster a publish's verdict waits for more than this node's lane: the owner of its site (forwarded there) and
 * the shared store (settled). Admission (broker/admission.ts) also watches this: how long publishes waited for their
 * verdicts lately, a moving average forgotten after FORGET_MS without a verdict (no recent wait is no wait).
 */
export interface VerdictWait {
  observe(ms: number): void;
  /** The recent wait, ms (0 when no verdict came for FORGET_MS). */
  recent(): number;
}

const FORGET_MS = 1_000;

export function createVerdictWait(clock: () => number = () => performance.now()): VerdictWait {
  let average = 0;
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    observe(ms) {
      const now = clock();
      average = now - lastAt >= FORGET_MS ? ms : 0.9 * average + 0.1 * ms;
      lastAt = now;
    },
    recent: () => (clock() - lastAt < FORGET_MS ? average : 0),
  };
}

/** `lane` with each verdict's wait, from submission to verdict, told to `wait`. */
export function timingVerdicts<L extends Pick<TelemetryLane, 'submit'>>(
  lane: L,
  wait: VerdictWait,
  clock: () => number = () => performance.now(),
): L {
  return {
    ...lane,
    submit(device, payload, receivedAt, decided) {
      const submittedAt = clock();
      lane.submit(device, payload, receivedAt, (verdict) => {
        wait.observe(clock() - submittedAt);
        decided(verdict);
      });
    },
  };
}
