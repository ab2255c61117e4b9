/**
 * What bounds a latency tail besides the work itself: each thread's event-loop delay and garbage-collection
 * pauses, read from the gateway's own runtime metrics (prom-client's, one registry per thread). prom-client
 * resets the event-loop histogram at every collection, so a reading covers the time since the previous one;
 * GC figures are totals, compared between two readings.
 */

/** One thread's runtime figures at one reading. */
export interface ThreadRuntime {
  /** Event-loop delay since the previous reading beyond the 10 ms sampling interval, ms. */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Totals since the thread started. */
  gcCount: number;
  gcSeconds: number;
  /** GC events (every kind: major, minor, incremental, weak callbacks) longer than 10 ms (the histogram's 0.01 bucket). */
  gcOver10ms: number;
}

interface JsonMetric {
  name: string;
  values: Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>;
}

const PREFIX = 'gateway_nodejs_';
/**
 * prom-client samples the loop with `monitorEventLoopDelay({ resolution: 10 })`, whose figures are the time between
 * its timer's firings: an idle loop reads about 10 ms. The delay is what lies beyond that.
 */
const SAMPLING_MS = 10;

/** The figures of one thread's registry (prom-client JSON). */
export function threadRuntime(metrics: readonly unknown[]): ThreadRuntime {
  const byName = new Map((metrics as JsonMetric[]).map((metric) => [metric.name, metric]));
  const gauge = (name: string): number => byName.get(`${PREFIX}${name}`)?.values[0]?.value ?? Number.NaN;
  const gc = byName.get(`${PREFIX}gc_duration_seconds`)?.values ?? [];
  const sum = (suffix: string, keep: (labels: Record<string, unknown>) => boolean = () => true): number =>
    gc.filter((v) => v.metricName?.endsWith(suffix) && keep(v.labels)).reduce((total, v) => total + v.value, 0);
  const count = sum('_count');
  return {
    lagP99Ms: Math.max(0, gauge('eventloop_lag_p99_seconds') * 1000 - SAMPLING_MS),
    lagMaxMs: Math.max(0, gauge('eventloop_lag_max_seconds') * 1000 - SAMPLING_MS),
    gcCount: count,
    gcSeconds: sum('_sum'),
    gcOver10ms: count - sum('_bucket', (labels) => Number(labels.le) === 0.01),
  };
}

/** A run's figures for one thread: the delay read at its end, GC as the difference from its start. */
export interface ThreadPauses {
  lagP99Ms: number;
  lagMaxMs: number;
  gcCount: number;
  gcMs: number;
  gcOver10ms: number;
}

export function pausesBetween(start: ThreadRuntime, end: ThreadRuntime): ThreadPauses {
  return {
    lagP99Ms: end.lagP99Ms,
    lagMaxMs: end.lagMaxMs,
    gcCount: end.gcCount - start.gcCount,
    gcMs: (end.gcSeconds - start.gcSeconds) * 1000,
    gcOver10ms: end.gcOver10ms - start.gcOver10ms,
  };
}
