import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../../rules/src/index.js';
import { type JournalEntry, journalEntriesOf, journalRowText } from './journal-text.js';

const name = fc.constantFrom('hopper_temp', 'diff_pressure', 'fan_running', '__proto__', 'constructor', 'a\nb', 'a', 'b', 'a,b', '"');
const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.string());
const reading: fc.Arbitrary<Reading> = fc
  .record(
    {
      site: fc.constantFrom('site-a', 'site-b'),
      device: fc.constantFrom('dc-01', 'dc-02', 'gas-7'),
      profile: fc.constantFrom('dust-collector', 'confined-space-gas'),
      ts: fc.integer({ min: 0, max: 2 ** 45 }),
      receivedAt: fc.integer({ min: 0, max: 2 ** 45 }),
      seq: fc.integer({ min: 0, max: 2 ** 31 }),
      metrics: fc.dictionary(name, value, { maxKeys: 6 }),
    },
    { requiredKeys: ['site', 'device', 'profile', 'ts', 'metrics'] },
  )
  .map((r) => r as Reading);
const held = fc.record({ site: fc.constant('site-a'), device: fc.constant('dc-01'), since: fc.nat(), until: fc.nat() });
const entry: fc.Arbitrary<JournalEntry> = fc.record(
  { readings: fc.array(reading, { maxLength: 12 }), held: fc.array(held, { maxLength: 3 }), at: fc.nat() },
  { requiredKeys: [] },
);

/** What the journal gave back before its rows were arrays: the entry through JSON. */
const throughJson = (e: JournalEntry): JournalEntry => JSON.parse(JSON.stringify(e)) as JournalEntry;

describe('the rule state journal as text', () => {
  it('gives back the entries of a row as JSON objects did, with their ids: fields, metric names in their order, values, the latest time (property)', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), fc.nat(), (entries, first) => {
        const back = journalEntriesOf(first, journalRowText(entries));
        const times = entries.flatMap((e) => (e.at === undefined ? [] : [e.at]));
        const latest = times.length === 0 ? {} : { at: Math.max(...times) };
        expect(back).toStrictEqual(entries.map((e, i) => ({ id: first + i, entry: throughJson({ ...e, ...latest }) })));
        back.forEach(({ entry: e }, i) => {
          for (const [j, r] of (e.readings ?? []).entries())
            expect(Object.keys(r.metrics)).toEqual(Object.keys(entries[i]?.readings?.[j]?.metrics ?? {}));
        });
      }),
      { numRuns: 300 },
    );
  });

  it("reads an entry written as JSON objects (a store of schema 12), its id the row's", () => {
    const old: JournalEntry = {
      readings: [
        { site: 'site-a', device: 'dc-01', profile: 'dust-collector', ts: 5, receivedAt: 6, seq: 7, metrics: { hopper_temp: 85 } },
      ],
    };
    expect(journalEntriesOf(9, JSON.stringify(old))).toEqual([{ id: 9, entry: old }]);
    expect(journalEntriesOf(10, JSON.stringify({ held: [{ site: 's', device: 'd', since: 1, until: 2 }] }))).toEqual([
      { id: 10, entry: { held: [{ site: 's', device: 'd', since: 1, until: 2 }] } },
    ]);
  });

  it('writes a commit of ten batches of a dust collector reading each in less than half the bytes of their JSON objects', () => {
    const metrics = { diff_pressure: 1213, hopper_temp: 28.4, inlet_temp: 25.1, outlet_temp: 23.3, fan_running: true, spark_count: 0 };
    const entries = Array.from({ length: 10 }, (_, i) => ({
      readings: [{ site: 's', device: `d${i}`, profile: 'dust-collector', ts: 1e12 + i, receivedAt: 1e12 + i, seq: i, metrics }],
      at: 1e12 + i,
    }));
    const asObjects = entries.reduce((bytes, e) => bytes + JSON.stringify(e).length, 0);
    expect(journalRowText(entries).length).toBeLessThan(asObjects / 2);
  });
});
