import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seenSeqsOf, seqEntryOf } from './shared-seqs.js';

describe("a device's accepted seq as the shared store keeps them", () => {
  it('any seq and device time (or none) written as entries are read back, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.option(fc.integer(), { nil: null }))), (accepted) => {
        const text = accepted.map(([seq, ts]) => seqEntryOf(seq, ts)).join('');
        expect(seenSeqsOf('d', text)).toEqual(accepted.map(([seq, ts]) => ['d', seq, ts]));
      }),
    );
  });

  it('what is not an entry is skipped, the entries around it kept', () => {
    expect(seenSeqsOf('d', '12:1700000000000;garbage;13:;:5;-1:3;14:1.5;15:1e3;16:x;')).toEqual([
      ['d', 12, 1_700_000_000_000],
      ['d', 13, null],
      ['d', 14, 1.5],
      ['d', 15, 1000],
    ]);
  });
});
