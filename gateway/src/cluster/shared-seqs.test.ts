import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SeqRun } from '../ingest/seq-runs.js';
import { seqRunsOf, seqRunsText } from './shared-seqs.js';

const runArbitrary: fc.Arbitrary<SeqRun> = fc
  .tuple(fc.nat(), fc.nat(5_000), fc.integer(), fc.nat())
  .map(([from, length, tsMin, spread]) => [from, from + length, tsMin, tsMin + spread]);

describe("a device's runs of seq as the shared store keeps them", () => {
  it('any runs written are read back as they were', () => {
    fc.assert(
      fc.property(fc.array(runArbitrary, { maxLength: 16 }), (runs) => {
        expect(seqRunsOf(seqRunsText(runs))).toEqual(runs);
      }),
    );
  });

  it('what is not a run is skipped, the runs around it kept; a value that is no JSON array is none', () => {
    expect(seqRunsOf('[[1,5,100,500],[3,2,0,0],"x",[1,2,3],[1,2,5,4],[0.5,1,0,0],[7,9,-5,-1]]')).toEqual([
      [1, 5, 100, 500],
      [7, 9, -5, -1],
    ]);
    expect(seqRunsOf('1:100;2:;')).toEqual([]);
    expect(seqRunsOf('{"0":[1,2,3,4]}')).toEqual([]);
  });
});
