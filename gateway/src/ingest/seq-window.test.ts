import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mapSeqWindow } from '../../../test/helpers/map-seq-window.js';
import type { SeqRun } from './seq-runs.js';
import { createSeqWindow, SEQ_WINDOW, seqTimeOf } from './seq-window.js';

describe('duplicate detection by seq', () => {
  it('drops a redelivery once, in or out of order, per device', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 1, 1000)).toBe(true);
    expect(window.accept('a', 3, 3000)).toBe(true);
    expect(window.accept('a', 2, 2000)).toBe(true); // late, not a duplicate
    expect(window.accept('a', 3, 3000)).toBe(false);
    expect(window.accept('a', 1, 1000)).toBe(false);
    expect(window.accept('b', 1, 1000)).toBe(true);
  });

  it('accepts a restarted counter whose readings carry new times', () => {
    const window = createSeqWindow();
    window.accept('a', 0, 1000);
    expect(window.accept('a', 0, 9000)).toBe(true);
    expect(window.accept('a', 0, 9000)).toBe(false);
  });

  it('compares by seq alone when a reading has no device time', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 5, null)).toBe(true);
    expect(window.accept('a', 5, null)).toBe(false);
  });

  it('remembers a bounded number of sequence numbers', () => {
    const window = createSeqWindow();
    for (let seq = 0; seq <= SEQ_WINDOW + 10; seq += 1) window.accept('a', seq, seq);
    expect(window.accept('a', 0, 0)).toBe(true); // forgotten
    expect(window.accept('a', SEQ_WINDOW + 10, SEQ_WINDOW + 10)).toBe(false);
  });
});

describe('duplicate detection: readings with and without a device time, the bound, its memory', () => {
  it('a repeated seq with a device time on one side only is a duplicate (compared by seq alone)', () => {
    const window = createSeqWindow();
    expect(window.accept('a', 5, null)).toBe(true);
    expect(window.accept('a', 5, 1000)).toBe(false);
    expect(window.accept('a', 6, 2000)).toBe(true);
    expect(window.accept('a', 6, null)).toBe(false);
  });

  it(`holds exactly ${SEQ_WINDOW} sequence numbers per device, forgetting the oldest first`, () => {
    const window = createSeqWindow();
    for (let seq = 0; seq <= SEQ_WINDOW; seq += 1) window.accept('a', seq, seq);
    // seq 0 was pushed out by the one past the bound; seq 1 is still held.
    expect(window.accept('a', 1, 1)).toBe(false);
    expect(window.accept('a', 0, 0)).toBe(true);
    expect(window.accept('b', 0, 0)).toBe(true);
  });

  it('remembers what it accepts (not what it drops), forgets what it lets go of, and starts from what was remembered', () => {
    const calls: string[] = [];
    const memory = {
      load: (): Array<[string, number, number | null]> => [
        ['a', 1, 1000],
        ['a', 2, null],
      ],
      remember: (device: string, seq: number, ts: number | null) => calls.push(`remember ${device} ${seq} ${ts}`),
      forget: (device: string, seq: number) => calls.push(`forget ${device} ${seq}`),
    };
    const window = createSeqWindow(memory);
    expect(window.accept('a', 1, 1000)).toBe(false);
    expect(window.accept('a', 2, 5000)).toBe(false);
    expect(window.accept('a', 1, 9000)).toBe(true);
    expect(calls).toEqual(['remember a 1 9000']);
    calls.length = 0;
    for (let seq = 3; seq <= SEQ_WINDOW + 1; seq += 1) window.accept('a', seq, seq);
    // 2 was loaded first, 1 came back later: 2 is the oldest, forgotten (before the one in its place is remembered)
    expect(calls.filter((c) => c.startsWith('forget'))).toEqual(['forget a 2']);
    expect(calls.slice(-2)).toEqual(['forget a 2', `remember a ${SEQ_WINDOW + 1} ${SEQ_WINDOW + 1}`]);
    expect(window.accept('a', 1, 9000)).toBe(false);
    expect(window.accept('a', 2, null)).toBe(true);
  });
});

/** A stretch of what a device sends: a rising run (with gaps), a pause, a replay of what it sent, a restart, late data. */
const stretch = fc.oneof(
  fc.record({
    kind: fc.constant('run' as const),
    length: fc.integer({ min: 1, max: 3_000 }),
    step: fc.integer({ min: 1, max: 3 }),
    /** Device times in whole ms (the contract's), none, or with a fraction (kept exactly all the same). */
    times: fc.constantFrom('whole' as const, 'whole' as const, 'none' as const, 'fraction' as const),
  }),
  fc.record({ kind: fc.constant('jump' as const), by: fc.integer({ min: 1, max: 20_000 }) }),
  /** The device was off for up to 80 days, or its clock was set back as far: its times now span that much. */
  fc.record({ kind: fc.constant('pause' as const), days: fc.integer({ min: -80, max: 80 }) }),
  fc.record({
    kind: fc.constant('replay' as const),
    back: fc.integer({ min: 1, max: 6_000 }),
    length: fc.integer({ min: 1, max: 200 }),
    /** As sent, without the device time, with one where there was none, or with another (a restarted clock). */
    times: fc.constantFrom('same', 'untimed', 'timed', 'other'),
  }),
  fc.record({ kind: fc.constant('restart' as const), newTimes: fc.boolean() }),
  fc.record({ kind: fc.constant('late' as const), back: fc.integer({ min: 1, max: 9_000 }), untimed: fc.boolean() }),
);

describe('duplicate detection: the compact window answers as the Map it replaced (property)', () => {
  it('gives the same answer for every reading of generated streams of two devices, across a restart on what it remembered', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b'), stretch), { minLength: 1, maxLength: 12 }), (stretches) => {
        // what the store keeps: per device, seq → time in the order remembered
        const kept = new Map<string, Map<number, number | null>>();
        const memory = {
          load: () => [],
          remember: (d: string, s: number, t: number | null) => {
            const seen = kept.get(d) ?? new Map<number, number | null>();
            seen.delete(s);
            kept.set(d, seen.set(s, t));
          },
          forget: (d: string, s: number) => void kept.get(d)?.delete(s),
        };
        const window = createSeqWindow(memory);
        const reference = mapSeqWindow();
        const sent: Record<string, Array<[number, number | null]>> = { a: [], b: [] };
        const next: Record<string, { seq: number; ts: number }> = { a: { seq: 0, ts: 1_000_000 }, b: { seq: 7, ts: 2_000_000 } };
        const send = (device: string, seq: number, ts: number | null): void => {
          const answer = window.accept(device, seq, ts);
          if (answer !== reference.accept(device, seq, ts))
            throw new Error(`${device} seq ${seq} ts ${ts}: ${answer}, the Map says ${!answer}`);
          sent[device]?.push([seq, ts]);
        };
        for (const [device, part] of stretches) {
          const at = next[device] as { seq: number; ts: number };
          const history = sent[device] as Array<[number, number | null]>;
          if (part.kind === 'run') {
            for (let i = 0; i < part.length; i += 1) {
              send(device, at.seq, { whole: at.ts, none: null, fraction: at.ts + 0.5 }[part.times]);
              at.seq += part.step;
              at.ts += 5_000;
            }
          } else if (part.kind === 'jump') at.seq += part.by;
          else if (part.kind === 'pause') at.ts += part.days * 86_400_000;
          else if (part.kind === 'replay') {
            for (const [seq, ts] of history.slice(-part.back, -part.back + part.length || undefined)) {
              const time = { same: ts, untimed: null, timed: ts ?? at.ts, other: ts === null ? null : ts + 1 }[part.times];
              send(device, seq, time);
            }
          } else if (part.kind === 'restart') {
            at.seq = 0;
            if (part.newTimes) at.ts += 3_600_000;
          } else {
            const old = history.at(-part.back);
            if (old) send(device, old[0] + 1, part.untimed ? null : (old[1] ?? at.ts) + 1);
          }
        }
        // A restart on what was kept answers as the window that never stopped: the last readings again, and some new
        const remembered = [...kept].flatMap(([device, seen]) =>
          [...seen].map(([seq, ts]) => [device, seq, ts] as [string, number, number | null]),
        );
        const restarted = createSeqWindow({ load: () => remembered, remember: () => undefined, forget: () => undefined });
        for (const device of ['a', 'b']) {
          const again = [...(sent[device] ?? []).slice(-300), [0, 1] as [number, number], [3, null] as [number, null]];
          for (const [seq, ts] of again) {
            if (restarted.accept(device, seq, ts) !== reference.accept(device, seq, ts))
              throw new Error(`after the restart: ${device} seq ${seq} ts ${ts}`);
          }
        }
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});

describe('duplicate detection: the compact window at its edges', () => {
  const DAY = 86_400_000;
  const T0 = 1_790_000_000_000;

  it('a device off for weeks, twice: everything still held is a duplicate when replayed, and new times are not', () => {
    const window = createSeqWindow();
    const sent: Array<[number, number]> = [];
    const run = (from: number, count: number, start: number): void => {
      for (let i = 0; i < count; i += 1) {
        sent.push([from + i, start + i * 5_000]);
        expect(window.accept('a', from + i, start + i * 5_000)).toBe(true);
      }
    };
    run(0, 100, T0);
    run(100, SEQ_WINDOW, T0 + 30 * DAY); // the first 100 are forgotten
    run(100 + SEQ_WINDOW, 100, T0 + 60 * DAY); // 60 days after the first: the times held span 30
    for (const [seq, ts] of sent.slice(-SEQ_WINDOW)) expect(window.accept('a', seq, ts)).toBe(false);
    run(200 + SEQ_WINDOW, 10, T0 + 120 * DAY); // the times held now span 90 days
    for (const [seq, ts] of sent.slice(-SEQ_WINDOW)) expect(window.accept('a', seq, ts)).toBe(false);
    const [seq, ts] = sent.at(-SEQ_WINDOW) as [number, number];
    expect(window.accept('a', seq, ts + 1)).toBe(true);
  });

  it('a clock set back by weeks: what came before and after it is held exactly', () => {
    const window = createSeqWindow();
    const sent: Array<[number, number]> = [];
    for (const [from, start] of [
      [0, T0 + 60 * DAY],
      [100, T0 + 35 * DAY], // set back 25 days: the times held still fit one base
      [200, T0], // and 35 more: they span 60 days
    ] as const) {
      for (let i = 0; i < 100; i += 1) {
        sent.push([from + i, start + i * 5_000]);
        expect(window.accept('a', from + i, start + i * 5_000)).toBe(true);
      }
    }
    for (const [seq, ts] of sent) expect(window.accept('a', seq, ts), `seq ${seq}`).toBe(false);
  });

  it('a late seq below everything held is new, whatever held seq shares its slot', () => {
    const window = createSeqWindow();
    for (let seq = 0; seq < 5_000; seq += 1) window.accept('a', seq, null);
    // seq 0–903 were forgotten; seq 4,101 (held, without a time) is where seq 5 would sit in 4,096 slots
    expect(window.accept('a', 5, null)).toBe(true);
    expect(window.accept('a', 5, null)).toBe(false);
    expect(window.accept('a', 4_101, null)).toBe(false);
  });

  it('numbers with gaps: still exactly the last 4,096 held, however many came', () => {
    // every other number; one number in eleven left out
    for (const seqOf of [(i: number) => 2 * i, (i: number) => i + Math.floor(i / 10)]) {
      for (const count of [4_100, 4_500, 6_000, 9_000]) {
        const window = createSeqWindow();
        for (let i = 0; i < count; i += 1) window.accept('a', seqOf(i), T0 + i);
        const oldestHeld = count - SEQ_WINDOW;
        // the newest forgotten is new again, the oldest held is not, and neither is the newest
        expect(window.accept('a', seqOf(count - 1), T0 + count - 1)).toBe(false);
        expect(window.accept('a', seqOf(oldestHeld), T0 + oldestHeld), `${count}: oldest held`).toBe(false);
        expect(window.accept('a', seqOf(oldestHeld - 1), T0 + oldestHeld - 1), `${count}: newest forgotten`).toBe(true);
      }
    }
  });
});

describe("the time a reading's seq is remembered with", () => {
  it('the device time when there is one; otherwise a code of the values: a negative integer from -2^31, the same for the same values', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.oneof(fc.double({ noNaN: true }), fc.boolean(), fc.string())),
        fc.integer(),
        (metrics, ts) => {
          expect(seqTimeOf(ts, metrics)).toBe(ts);
          const code = seqTimeOf(null, metrics);
          expect(Number.isInteger(code) && code < 0 && code >= -(2 ** 31)).toBe(true);
          expect(seqTimeOf(null, structuredClone(metrics))).toBe(code);
        },
      ),
    );
    // values a device sends one after another give different codes
    const codes = new Set(Array.from({ length: 10_000 }, (_, i) => seqTimeOf(null, { hopper_temp: 40 + i / 100, fan_running: true })));
    expect(codes.size).toBe(10_000);
  });
});

describe('runs handed over with a site (a cluster): what the last owner accepted of a device', () => {
  it('a reading among them is a duplicate though this window never saw it; a restarted counter with newer times is not', () => {
    const window = createSeqWindow();
    window.adopt('a', [
      [10, 20, 10_000, 20_000],
      [0, 3, 90_000, 93_000],
    ]);
    expect(window.accept('a', 15, 15_000)).toBe(false);
    expect(window.accept('a', 2, 92_000)).toBe(false);
    expect(window.accept('a', 15, 95_000)).toBe(true); // restarted again, newer time
    expect(window.accept('a', 21, 21_000)).toBe(true); // past the run
    expect(window.accept('b', 15, 15_000)).toBe(true); // another device
    // a clockless reading's code is never within a run of times
    expect(window.accept('a', 12, seqTimeOf(null, { level: 1 }))).toBe(true);
  });

  it('handed over again replaces what was before; none drops it; later changes to the runs given do not reach the window', () => {
    const window = createSeqWindow();
    const runs: SeqRun[] = [[0, 9, 0, 9_000]];
    window.adopt('a', runs);
    runs[0] = [0, 99, 0, 99_000];
    expect(window.accept('a', 50, 50_000)).toBe(true);
    (runs[0] as SeqRun)[1] = 5;
    window.adopt('a', [[100, 110, 100_000, 110_000]]);
    expect(window.accept('a', 5, 5_000)).toBe(true); // the first hand-over is gone
    expect(window.accept('a', 105, 105_000)).toBe(false);
    window.adopt('a', []);
    expect(window.accept('a', 106, 106_000)).toBe(true);
  });
});
