import { inRuns, type SeqRun } from './seq-runs.js';

/** How many sequence numbers per device are remembered. */
export const SEQ_WINDOW = 4096;

/**
 * What a reading's `seq` is remembered with: its device time, or, for a reading without one, a code of its values
 * (an integer from -2^31 to -1, never a device time). A QoS 1 redelivery repeats the payload byte for byte, so it
 * repeats the code and is a duplicate; a clockless device that rebooted and counts from 0 again sends other values
 * under its old numbers, and those are accepted. Compared by `seq` alone (as before), such a device lost every
 * reading until it had sent 4,096 (5.7 hours at one every 5 s). A restarted device whose reading carries exactly
 * the values the old one had under that number is still taken for a redelivery.
 */
export function seqTimeOf(deviceTs: number | null, metrics: Readonly<Record<string, unknown>>): number {
  if (deviceTs !== null) return deviceTs;
  // FNV-1a over the values as JSON (the normalised metrics, in the order sent)
  const text = JSON.stringify(metrics);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return -(hash >>> 1) - 1;
}

/**
 * Spots repeated `seq` values per device (QoS 1 redelivery, re-sent backlogs), also when they arrive out
 * of order. A repeat is the same `seq` with the same device time: a device that rebooted and restarted
 * its counter sends old numbers with new times, and those are accepted (and replace the old entries).
 * A reading without a device time is given the code of its values instead (`seqTimeOf`). A `seq` remembered
 * without any time (by a gateway before that) is a repeat whatever comes with it. Each device's window holds the
 * last SEQ_WINDOW distinct `seq` it accepted.
 */
export interface SeqWindow {
  /** True when the reading is new (and records it); false for a duplicate. */
  accept(device: string, seq: number, deviceTs: number | null): boolean;
  /**
   * In a cluster: what the last owner of the device's site accepted (replacing what was handed over before). A
   * reading among those runs is a duplicate here too, though this window never saw it.
   */
  adopt(device: string, runs: readonly SeqRun[]): void;
}

/**
 * A `seq` the window accepted with a device time, as a lane in a cluster reports it for the shared store: device,
 * site, seq, device time. (Readings without one are not: across a failover their `seq` is judged again.)
 */
export type AcceptedSeq = [device: string, site: string, seq: number, deviceTs: number];

/** What a site's last owner accepted of a device, handed to the next owner's window with the site. */
export type HandedOverSeqs = [device: string, runs: SeqRun[]];

/** Where the window keeps what it saw (the local store), so that a replay after a restart is still a duplicate. */
export interface SeqMemory {
  /** What was remembered, in the order accepted per device; read once, before anything is remembered. */
  load(): Iterable<[device: string, seq: number, ts: number | null]>;
  /** A `seq` accepted (a repeat with a new time replaces the one remembered, as the newest). */
  remember(device: string, seq: number, ts: number | null): void;
  /** A `seq` the window let go of (before the `seq` accepted in its place is remembered). */
  forget(device: string, seq: number): void;
}

/** The window's slots cover at most this many `seq` values (a device whose numbers have gaps). */
const MAX_SPAN = 2 * SEQ_WINDOW;
const FIRST_SPAN = 16;
/** Codes of a slot: no `seq`; a `seq` seen without a device time; else the device time less the ring's base. */
const EMPTY = -0x80000000;
const NO_TIME = EMPTY + 1;
const LOWEST = EMPTY + 2;
const HIGHEST = 0x7fffffff;

/**
 * One device's window while its accepted `seq` only grew (the contract's "increasing per device"): the device
 * times by `seq` in a ring of slots, from the oldest held (`low`) to the newest (`high`), each as its distance from
 * `base` in ms (4 bytes a `seq`, no object per entry: times that span more than ~49 days go to the ordered form).
 * A Map of 4,096 entries per device held ~176 KiB, 3.4 GiB for a fleet of 20,000 after six hours of readings 5 s
 * apart, and cost ~2 µs a reading once full.
 */
interface Ring {
  codes: Int32Array;
  base: number;
  low: number;
  high: number;
  count: number;
}

/** A device whose numbers went back (a restart, late data): kept as seq → time in the order accepted. */
interface Ordered {
  seen: Map<number, number | null>;
  /** How many of the last accepted each came after the one before (all of them: the ring can take over again). */
  rising: number;
  last: number;
}

type DeviceWindow = Ring | Ordered;

const isRing = (window: DeviceWindow): window is Ring => 'codes' in window;
const slotOf = (ring: Ring, seq: number): number => seq % ring.codes.length;

/** The code of a device time in `ring`, or null when it is beyond the reach of its base. */
function codeOf(ring: Ring, time: number | null): number | null {
  if (time === null) return NO_TIME;
  const offset = time - ring.base;
  return offset >= LOWEST && offset <= HIGHEST && Number.isInteger(offset) ? offset : null;
}

function newRing(seq: number, span: number, base: number): Ring {
  return { codes: new Int32Array(span).fill(EMPTY), base, low: seq, high: seq, count: 0 };
}

/** Moves the ring's base under the earliest of its times and `time`; false when they span too much for it. */
function rebased(ring: Ring, time: number): boolean {
  if (!Number.isSafeInteger(time)) return false; // the contract's times are whole ms; any other is kept as given
  let earliest = time;
  let latest = time;
  for (let seq = ring.low; seq <= ring.high; seq += 1) {
    const code = ring.codes[slotOf(ring, seq)] as number;
    if (code <= NO_TIME) continue;
    earliest = Math.min(earliest, code + ring.base);
    latest = Math.max(latest, code + ring.base);
  }
  if (latest - earliest > HIGHEST - LOWEST) return false;
  const base = earliest - LOWEST;
  for (let seq = ring.low; seq <= ring.high; seq += 1) {
    const slot = slotOf(ring, seq);
    const code = ring.codes[slot] as number;
    if (code > NO_TIME) ring.codes[slot] = code + ring.base - base;
  }
  ring.base = base;
  return true;
}

/** The code of a device time in `ring`, re-basing the ring when it is out of reach; null when no base reaches all. */
function reachedCode(ring: Ring, time: number | null): number | null {
  const code = codeOf(ring, time);
  if (code !== null || time === null) return code;
  return rebased(ring, time) ? codeOf(ring, time) : null;
}

/** Slots for `span` consecutive `seq`: the least power of two from FIRST_SPAN up that covers them. */
function slotsFor(span: number): number {
  let slots = FIRST_SPAN;
  while (slots < span) slots *= 2;
  return slots;
}

/** The ring re-laid over `span` slots. */
function widened(ring: Ring, span: number): Ring {
  const wider = newRing(ring.low, span, ring.base);
  for (let seq = ring.low; seq <= ring.high; seq += 1) wider.codes[slotOf(wider, seq)] = ring.codes[slotOf(ring, seq)] as number;
  wider.high = ring.high;
  wider.count = ring.count;
  return wider;
}

function ordered(ring: Ring): Ordered {
  const seen = new Map<number, number | null>();
  for (let seq = ring.low; seq <= ring.high; seq += 1) {
    const code = ring.codes[slotOf(ring, seq)] as number;
    if (code !== EMPTY) seen.set(seq, code === NO_TIME ? null : code + ring.base);
  }
  return { seen, rising: seen.size, last: ring.high };
}

/** The ordered window as a ring again, when its `seq` rise in the order accepted and it fits the slots. */
function ringAgain(window: Ordered): Ring | null {
  const first = window.seen.keys().next().value as number;
  const span = window.last - first + 1;
  if (span > MAX_SPAN) return null;
  const ring = newRing(first, slotsFor(span), Number.NaN);
  for (const [seq, time] of window.seen) {
    const code = reachedCode(ring, time);
    if (code === null) return null;
    ring.codes[slotOf(ring, seq)] = code;
    ring.high = seq;
  }
  ring.count = window.seen.size;
  return ring;
}

export function createSeqWindow(memory?: SeqMemory): SeqWindow {
  const windows = new Map<string, DeviceWindow>();

  /** The ordered form's rule (the reference): true when new, and then it is recorded. */
  const acceptOrdered = (device: string, window: Ordered, seq: number, deviceTs: number | null): boolean => {
    const { seen } = window;
    if (seen.has(seq)) {
      const earlier = seen.get(seq) ?? null;
      if (earlier === deviceTs || earlier === null || deviceTs === null) return false;
      seen.delete(seq);
    }
    seen.set(seq, deviceTs);
    window.rising = seq > window.last ? window.rising + 1 : 1;
    window.last = seq;
    if (seen.size > SEQ_WINDOW) {
      const oldest = seen.keys().next().value as number;
      seen.delete(oldest);
      memory?.forget(device, oldest);
    }
    return true;
  };

  /**
   * Adds `seq` above `high` to the ring, the oldest forgotten first when it is full (so 4,096 consecutive numbers
   * take 4,096 slots); null when it needs more slots than MAX_SPAN, or a time further from the others than a base
   * can reach.
   */
  const pushed = (device: string, ring: Ring, seq: number, time: number | null): Ring | null => {
    if (ring.count >= SEQ_WINDOW) {
      memory?.forget(device, ring.low);
      ring.codes[slotOf(ring, ring.low)] = EMPTY;
      ring.count -= 1;
      do ring.low += 1;
      while (ring.codes[slotOf(ring, ring.low)] === EMPTY);
    }
    let current = ring;
    const span = seq - ring.low + 1;
    if (span > ring.codes.length) {
      if (span > MAX_SPAN) return null;
      current = widened(ring, slotsFor(span));
    }
    const code = reachedCode(current, time);
    if (code === null) return null;
    current.codes[slotOf(current, seq)] = code;
    current.high = seq;
    current.count += 1;
    return current;
  };

  /** The ring's answer; undefined when only the ordered form can tell (`seq` not above the newest and not a repeat). */
  const ringAccepts = (device: string, ring: Ring, seq: number, deviceTs: number | null): boolean | undefined => {
    if (seq > ring.high) {
      const grown = pushed(device, ring, seq, deviceTs);
      if (grown === null) return undefined;
      if (grown !== ring) windows.set(device, grown);
      return true;
    }
    if (seq < ring.low) return undefined;
    const earlier = ring.codes[slotOf(ring, seq)] as number;
    if (earlier === EMPTY) return undefined;
    if (earlier === NO_TIME || deviceTs === null || earlier + ring.base === deviceTs) return false;
    return undefined; // a restarted counter's new time: kept in the order accepted
  };

  const accept = (device: string, seq: number, deviceTs: number | null): boolean => {
    const window = windows.get(device);
    if (window === undefined) {
      const ring = newRing(seq, FIRST_SPAN, Number.NaN);
      const code = reachedCode(ring, deviceTs);
      if (code === null) {
        windows.set(device, { seen: new Map([[seq, deviceTs]]), rising: 1, last: seq });
        return true;
      }
      ring.codes[slotOf(ring, seq)] = code;
      ring.count = 1;
      windows.set(device, ring);
      return true;
    }
    if (isRing(window)) {
      const answer = ringAccepts(device, window, seq, deviceTs);
      if (answer !== undefined) return answer;
      const fallback = ordered(window);
      windows.set(device, fallback);
      return acceptOrdered(device, fallback, seq, deviceTs);
    }
    if (!acceptOrdered(device, window, seq, deviceTs)) return false;
    if (window.rising >= window.seen.size) {
      const ring = ringAgain(window);
      if (ring) windows.set(device, ring);
      else window.rising = 0; // tried again only after as many more rising
    }
    return true;
  };

  if (memory) for (const [device, seq, ts] of memory.load()) accept(device, seq, ts);
  /** Runs handed over with a site (a cluster's): per device, what the last owner accepted. */
  const handedOver = new Map<string, readonly SeqRun[]>();
  return {
    accept(device, seq, deviceTs) {
      // runs hold device times only: a clockless reading's code (negative) is never within one
      if (handedOver.size > 0 && deviceTs !== null && deviceTs >= 0) {
        const runs = handedOver.get(device);
        if (runs !== undefined && inRuns(runs, seq, deviceTs)) return false;
      }
      if (!accept(device, seq, deviceTs)) return false;
      memory?.remember(device, seq, deviceTs);
      return true;
    },
    adopt(device, runs) {
      if (runs.length === 0) handedOver.delete(device);
      else
        handedOver.set(
          device,
          runs.map((run) => [...run] as SeqRun),
        );
    },
  };
}
