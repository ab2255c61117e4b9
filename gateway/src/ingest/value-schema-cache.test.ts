import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MetricSpec, PROFILES } from '../../../profiles/index.js';
import { cachedValueCheckOf, cachedValueSchemaOf } from './value-schema-cache.js';

describe('value schemas built once per metric spec', () => {
  it('the same schema for the same spec, another for another spec, each checking its own type', () => {
    const count: MetricSpec = { type: 'number', unit: 'sparks', integer: true, range: { min: 0, max: 10 }, units: {}, description: 'c' };
    const valve: MetricSpec = { type: 'enum', values: ['open', 'shut'], description: 'v' };
    const schema = cachedValueSchemaOf(count);
    expect(cachedValueSchemaOf(count)).toBe(schema);
    expect(cachedValueSchemaOf(valve)).not.toBe(schema);
    expect([schema.safeParse(3).success, schema.safeParse(2.5).success]).toEqual([true, false]);
    expect([cachedValueSchemaOf(valve).safeParse('shut').success, cachedValueSchemaOf(valve).safeParse('ajar').success]).toEqual([
      true,
      false,
    ]);
  });
});

describe('the compiled value check', () => {
  const specs = [...PROFILES.values()].flatMap((profile) => Object.entries(profile.metrics).map(([name, spec]) => ({ name, spec })));
  const enumValues = specs.flatMap(({ spec }) => (spec.type === 'enum' ? spec.values : []));
  const values = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.constantFrom(
      2 ** 53,
      2 ** 53 - 1,
      -(2 ** 53),
      -(2 ** 53) + 1,
      -0,
      0.5,
      1e21,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ),
    fc.boolean(),
    fc.string({ maxLength: 12 }),
    fc.constantFrom(...enumValues, ...enumValues.map((value) => value.toUpperCase()), ''),
    fc.jsonValue({ maxDepth: 1 }),
    fc.constantFrom(null, undefined, [], {}, '1', 'true'),
  );

  it('accepts exactly what the zod schema of every metric of every profile accepts', () => {
    expect(specs.length).toBeGreaterThan(40);
    fc.assert(
      fc.property(fc.constantFrom(...specs), values, ({ spec }, value) => {
        expect(cachedValueCheckOf(spec)(value)).toBe(cachedValueSchemaOf(spec).safeParse(value).success);
      }),
      { numRuns: 5_000 },
    );
  }, 30_000);

  it('is built once per spec and tells integers, numbers, booleans and enum values apart', () => {
    const count: MetricSpec = { type: 'number', unit: 'sparks', integer: true, range: { min: 0, max: 10 }, units: {}, description: 'c' };
    const level: MetricSpec = { type: 'number', unit: 'm', range: { min: 0, max: 10 }, units: {}, description: 'l' };
    const valve: MetricSpec = { type: 'enum', values: ['open', 'shut'], description: 'v' };
    const running: MetricSpec = { type: 'boolean', description: 'r' };
    expect(cachedValueCheckOf(count)).toBe(cachedValueCheckOf(count));
    expect([3, 2.5, 2 ** 53, '3'].map(cachedValueCheckOf(count))).toEqual([true, false, false, false]);
    expect([2.5, Number.POSITIVE_INFINITY, Number.NaN, true].map(cachedValueCheckOf(level))).toEqual([true, false, false, false]);
    expect(['shut', 'ajar', 'toString', 1].map(cachedValueCheckOf(valve))).toEqual([true, false, false, false]);
    expect([false, 0, 'true'].map(cachedValueCheckOf(running))).toEqual([true, false, false]);
  });
});
