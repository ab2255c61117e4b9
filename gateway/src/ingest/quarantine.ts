import type { RejectionReason } from './rejection.js';

export interface QuarantineEntry {
  at: string;
  reason: RejectionReason;
  detail: string;
  topic: string;
  clientId: string | null;
  site: string | null;
  device: string | null;
  payloadBytes: number;
  /** The payload's first bytes, as UTF-8 text when it is, else base64. */
  payload: string;
  payloadEncoding: 'utf8' | 'base64';
  truncated: boolean;
}

const PREVIEW_BYTES = 2048;

const tagOf = (line: string, tag: string): string | null => {
  const match = new RegExp(`,${tag}=([^,\\s]+)`).exec(line.slice(0, line.indexOf(' ')));
  return match ? (match[1] as string) : null;
};

/** A point InfluxDB refused, as a quarantine entry: its line is the payload, InfluxDB's answer the detail. */
export function refusedPointEntry(
  point: { line: string; reason: string },
  at: number,
): Omit<QuarantineEntry, 'payload' | 'payloadEncoding' | 'truncated' | 'payloadBytes'> {
  return {
    at: new Date(at).toISOString(),
    reason: 'influx_refused',
    detail: point.reason,
    topic: 'influxdb',
    clientId: null,
    site: tagOf(point.line, 'site'),
    device: tagOf(point.line, 'device'),
  };
}

export interface QuarantineFilter {
  reason?: RejectionReason | undefined;
  device?: string | undefined;
  limit?: number | undefined;
}

/** A bounded ring of refused payloads, newest first on read, for operators to see what devices sent. */
export interface Quarantine {
  add(entry: Omit<QuarantineEntry, 'payload' | 'payloadEncoding' | 'truncated' | 'payloadBytes'>, payload: Buffer): void;
  list(filter: QuarantineFilter): QuarantineEntry[];
  readonly size: number;
}

/**
 * Where the quarantine is kept across restarts (port; adapter gateway/src/store/quarantine-sqlite.ts): the last
 * `capacity` entries, oldest first.
 */
export interface QuarantineKeep {
  load(capacity: number): QuarantineEntry[];
  add(entry: QuarantineEntry, capacity: number): void;
}

export function createQuarantine(capacity: number, keep?: QuarantineKeep): Quarantine {
  const ring: QuarantineEntry[] = keep ? keep.load(capacity).slice(-capacity) : [];
  let next = ring.length % capacity;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  return {
    add(entry, payload) {
      const head = payload.subarray(0, PREVIEW_BYTES);
      let text: string;
      let encoding: 'utf8' | 'base64' = 'utf8';
      try {
        text = utf8.decode(head);
      } catch {
        text = head.toString('base64');
        encoding = 'base64';
      }
      const full = {
        ...entry,
        payloadBytes: payload.length,
        payload: text,
        payloadEncoding: encoding,
        truncated: payload.length > PREVIEW_BYTES,
      };
      keep?.add(full, capacity);
      if (ring.length < capacity) ring.push(full);
      else ring[next] = full;
      next = (next + 1) % capacity;
    },
    list(filter) {
      const out: QuarantineEntry[] = [];
      const limit = filter.limit ?? 100;
      for (let i = 1; i <= ring.length && out.length < limit; i += 1) {
        const entry = ring[(next - i + ring.length * 2) % ring.length] as QuarantineEntry;
        if (filter.reason && entry.reason !== filter.reason) continue;
        if (filter.device && entry.device !== filter.device) continue;
        out.push(entry);
      }
      return out;
    },
    get size() {
      return ring.length;
    },
  };
}
