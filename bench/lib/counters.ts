import type { Counter } from 'prom-client';
import { sleep, wallMs } from './stats.js';

/** Sum of a prom-client counter over the label sets that match `labels`. */
export async function counterTotal(counter: Counter<string>, labels: Record<string, string> = {}): Promise<number> {
  const metric = await counter.get();
  return jsonTotal([[metric]], metric.name, labels);
}

/** Sum of a metric over the label sets that match `labels`, in prom-client JSON from one or more registries. */
export function jsonTotal(registries: ReadonlyArray<readonly unknown[]>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const metrics of registries) {
    for (const metric of metrics as Array<{ name: string; values: Array<{ value: number; labels: Record<string, unknown> }> }>) {
      if (metric.name !== name) continue;
      for (const value of metric.values) {
        if (Object.entries(labels).every(([k, v]) => value.labels[k] === v)) total += value.value;
      }
    }
  }
  return total;
}

export interface ExpectResult {
  accepted: number;
  stored: number | null;
  acceptedAt: number | null;
  storedAt: number | null;
}

export interface ExpectationOptions {
  accepted: () => number | Promise<number>;
  stored: (() => number | Promise<number>) | null;
  pollMs?: number;
}

/**
 * A server child's `arm` / `wait` pair: `arm { accepted, timeoutMs }` records the counters now and starts
 * polling every few ms until `accepted()` — and `stored()`, when there is one — have grown by `accepted`,
 * noting when each got there; `wait` answers with that (or with what was seen at the deadline).
 */
export function expectationHandlers(options: ExpectationOptions) {
  let current: Promise<ExpectResult> | null = null;
  return {
    arm: async (message: Record<string, any>) => {
      const target = Number(message.accepted);
      const acceptedBase = await options.accepted();
      const storedBase = options.stored ? await options.stored() : 0;
      const deadline = wallMs() + Number(message.timeoutMs ?? 60_000);
      current = (async () => {
        let acceptedAt: number | null = null;
        let storedAt: number | null = null;
        let accepted = 0;
        let stored = 0;
        while (wallMs() < deadline) {
          await sleep(options.pollMs ?? 5);
          const at = wallMs();
          if (acceptedAt === null) {
            accepted = (await options.accepted()) - acceptedBase;
            if (accepted >= target) acceptedAt = at;
          }
          if (options.stored && storedAt === null) {
            stored = (await options.stored()) - storedBase;
            if (stored >= target) storedAt = at;
          }
          if (acceptedAt !== null && (!options.stored || storedAt !== null)) break;
        }
        return { accepted, stored: options.stored ? stored : null, acceptedAt, storedAt };
      })();
      return {};
    },
    wait: () => {
      if (!current) throw new Error('wait before arm');
      return current;
    },
  };
}

/** CPU seconds (user + system) this process has used. */
export const cpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};
