/** What `/readyz` asks of every sink. */
export interface SinkStatus {
  name: string;
  ready: boolean;
  /** Why it is not ready, or what it is degraded by. */
  reason: string | null;
  queued: number;
  /** Points dropped since the start to stay within the queue's bounds (oldest telemetry first). */
  dropped?: number;
}

/** Every sink: its own bounded queue, started and closed by the composition root (close flushes). */
export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  close(): Promise<void>;
  status(): SinkStatus;
}

/** Exponential backoff with full jitter, capped. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
