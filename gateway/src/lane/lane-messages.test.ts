import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinVerdicts, type LaneVerdicts } from './lane-messages.js';

/** The verdicts of one batch: readings accepted per payload, and some payloads rejected. */
const batchVerdicts = fc.array(fc.tuple(fc.nat(3), fc.boolean()), { minLength: 1, maxLength: 8 }).map(
  (payloads): LaneVerdicts => ({
    type: 'verdicts',
    batches: 1,
    accepted: payloads.map(([accepted]) => accepted),
    rejections: payloads.flatMap(([, rejected], index) =>
      rejected ? [[index, [{ reason: 'duplicate' as const, detail: `payload ${index}` }]] as LaneVerdicts['rejections'][number]] : [],
    ),
  }),
);

describe('the verdicts of several batches as one message', () => {
  it("keeps each batch's verdicts, in order: split by the batches' lengths, the joined message gives each part back", () => {
    fc.assert(
      fc.property(fc.array(batchVerdicts, { minLength: 1, maxLength: 6 }), (parts) => {
        const joined = joinVerdicts(parts);
        expect(joined.batches).toBe(parts.length);
        let offset = 0;
        for (const part of parts) {
          const length = part.accepted.length;
          expect(joined.accepted.slice(offset, offset + length)).toEqual(part.accepted);
          const rejections = joined.rejections.filter(([index]) => index >= offset && index < offset + length);
          expect(rejections.map(([index, reasons]) => [index - offset, reasons])).toEqual(part.rejections);
          offset += length;
        }
        expect(joined.accepted.length).toBe(offset);
        // in order of index, as the broker side reads them
        expect(joined.rejections.map(([index]) => index)).toEqual(joined.rejections.map(([index]) => index).sort((a, b) => a - b));
      }),
    );
  });
});
