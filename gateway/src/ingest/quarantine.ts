import type { RejectionReason } from './rejection.js';
import { createShareRing } from './share-ring.js';

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

/**
 * A bounded ring of refused payloads, newest first on read, for operators to see what devices sent: `size` entries
 * in all, at most `perDevice` of one source (`sourceOf`), so one device flooding it replaces only its own entries.
 */
export interface Quarantine {
  add(entry: Omit<QuarantineEntry, 'payload' | 'payloadEncoding' | 'truncated' | 'payloadBytes'>, payload: Buffer): void;
  list(filter: QuarantineFilter): QuarantineEntry[];
  readonly size: number;
}

/** The bounds of `quarantine:` in the config. */
export interface QuarantineBounds {
  size: number;
  perDevice: number;
}

/** An entry as the keep holds it: `id` grows with every entry kept. */
export interface KeptQuarantineEntry {
  id: number;
  entry: QuarantineEntry;
}

/**
 * Where the quarantine is kept across restarts (port; adapter gateway/src/store/quarantine-sqlite.ts). It holds
 * exactly what the quarantine holds: the quarantine decides what is pushed out, the keep forgets the same.
 */
export interface QuarantineKeep {
  /** The newest `size` entries, oldest first; older ones are forgotten. */
  load(size: number): KeptQuarantineEntry[];
  /** Keeps `entry` and, in the same commit, forgets the entry `forgetting` (the one it pushes out); its id. */
  add(entry: QuarantineEntry, forgetting: number | undefined): number;
  forget(ids: readonly number[]): void;
}

/**
 * Whose share an entry counts against: its device; without one (an unknown device, a lab client) its MQTT client;
 * without that (a point InfluxDB refused without a device tag) its topic. Prefixed, so that a client id cannot
 * take a device's share by carrying its name.
 */
export function sourceOf(entry: Pick<QuarantineEntry, 'device' | 'clientId' | 'topic'>): string {
  if (entry.device !== null) return `device:${entry.device}`;
  if (entry.clientId !== null) return `client:${entry.clientId}`;
  return `topic:${entry.topic}`;
}

/**
 * `keep`: where entries are kept across restarts. `keepFailed`: told when the keep refused a write (the local store
 * full or failing); the entry is still held and shown until a restart, and the entry it pushed out is forgotten by
 * the keep at its next successful write, so the keep never holds more than the quarantine once it works again.
 * Adding never throws: a quarantine that cannot store its evidence must not turn a rejection into a fault.
 */
export function createQuarantine(
  bounds: QuarantineBounds,
  keep?: QuarantineKeep,
  keepFailed: (error: unknown, entry: QuarantineEntry) => void = () => undefined,
): Quarantine {
  const ring = createShareRing<{ entry: QuarantineEntry; id: number | undefined }>({ size: bounds.size, perSource: bounds.perDevice });
  if (keep) {
    // Read again under the bounds of this start (perDevice may be smaller than the last run's): what they push out
    // is forgotten by the keep too.
    const forgotten: number[] = [];
    for (const kept of keep.load(bounds.size)) {
      const out = ring.push(sourceOf(kept.entry), kept);
      if (out?.id !== undefined) forgotten.push(out.id);
    }
    if (forgotten.length > 0) keep.forget(forgotten);
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  /** Ids the keep still holds that the quarantine pushed out while the keep was failing. */
  const unforgotten: number[] = [];
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
      // Held first, so the ring names the entry it pushes out; the keep then stores the new one and forgets that one.
      const held: { entry: QuarantineEntry; id: number | undefined } = { entry: full, id: undefined };
      const evicted = ring.push(sourceOf(full), held)?.id;
      try {
        if (keep && unforgotten.length > 0) {
          keep.forget(unforgotten);
          unforgotten.length = 0;
        }
        held.id = keep?.add(full, evicted);
      } catch (error) {
        if (evicted !== undefined) unforgotten.push(evicted);
        keepFailed(error, full);
      }
    },
    list(filter) {
      const out: QuarantineEntry[] = [];
      const limit = filter.limit ?? 100;
      for (const { entry } of ring.newestFirst()) {
        if (out.length >= limit) break;
        if (filter.reason && entry.reason !== filter.reason) continue;
        if (filter.device && entry.device !== filter.device) continue;
        out.push(entry);
      }
      return out;
    },
    get size() {
      return ring.size;
    },
  };
}
