import { describe, expect, it } from 'vitest';
import type { MetricSpec } from '../../../profiles/index.js';
import { cachedValueSchemaOf } from './value-schema-cache.js';

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
