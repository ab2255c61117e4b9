import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addToRuns, inRuns, SEQ_RUNS_KEPT, type SeqRun } from './seq-runs.js';

/** A window of 5 numbers: generated streams pass it and the 16 runs kept many times over. */
const REACH = 5;

describe('runs of the seq a device sent (what a cluster hands the next owner of its site)', () => {
  it('consecutive seq make runs of at most a window each, holding the least and greatest time of their own numbers (the newest 16)', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.array(fc.integer({ min: 0, max: 1e12 }), { minLength: 1, maxLength: 200, size: 'max' }),
        fc.nat(1_000),
        (first, times, later) => {
          const runs: SeqRun[] = [];
          for (const [i, ts] of times.entries()) addToRuns(runs, first + i, ts, REACH);
          // the model: the numbers in chunks of REACH from the first, each with its own times; the newest 16 kept
          const chunks: SeqRun[] = [];
          for (let at = 0; at < times.length; at += REACH) {
            const own = times.slice(at, at + REACH);
            chunks.push([first + at, first + at + own.length - 1, Math.min(...own), Math.max(...own)]);
          }
          expect(runs).toEqual(chunks.slice(-SEQ_RUNS_KEPT));
          // each kept number is in with its own time; with a time newer than its run's (a restarted counter), it is not
          for (const [i, ts] of times.entries()) {
            const kept = i >= (chunks.length - SEQ_RUNS_KEPT) * REACH;
            expect(inRuns(runs, first + i, ts)).toBe(kept);
            const run = runs.find(([from, to]) => first + i >= from && first + i <= to);
            if (run) expect(inRuns(runs, first + i, run[3] + 1 + later)).toBe(false);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a gap, a backlog of older numbers and a restart each start a run; the newest 16 are kept', () => {
    const runs: SeqRun[] = [];
    for (let seq = 10; seq <= 12; seq += 1) addToRuns(runs, seq, seq * 1_000, REACH);
    addToRuns(runs, 20, 20_000, REACH); // a gap (QoS 0 lost)
    addToRuns(runs, 5, 5_000, REACH); // a backlog sent after live data
    addToRuns(runs, 0, 99_000, REACH); // a restart
    expect(runs).toEqual([
      [10, 12, 10_000, 12_000],
      [20, 20, 20_000, 20_000],
      [5, 5, 5_000, 5_000],
      [0, 0, 99_000, 99_000],
    ]);
    expect(inRuns(runs, 11, 11_000)).toBe(true);
    expect(inRuns(runs, 15, 15_000)).toBe(false);
    // the edges of a run: its first and last number with its least and greatest time are in; one past any edge is not
    expect([inRuns(runs, 10, 10_000), inRuns(runs, 12, 12_000)]).toEqual([true, true]);
    expect([inRuns(runs, 9, 11_000), inRuns(runs, 13, 11_000), inRuns(runs, 11, 9_999), inRuns(runs, 11, 12_001)]).toEqual([
      false,
      false,
      false,
      false,
    ]);
    for (let i = 0; i < 20; i += 1) addToRuns(runs, 1_000 + 2 * i, i, REACH);
    expect(runs).toHaveLength(SEQ_RUNS_KEPT);
    expect(runs[0]).toEqual([1_008, 1_008, 4, 4]);
  });
});
