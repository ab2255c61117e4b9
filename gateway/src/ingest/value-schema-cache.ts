import type { z } from 'zod';
import { type MetricSpec, valueSchemaOf } from '../../../profiles/index.js';

const cache = new WeakMap<MetricSpec, z.ZodType<number | boolean | string>>();

/**
 * The profile's zod value schema of a metric, built once per spec (building a zod schema costs far more than running
 * it): the reference that `cachedValueCheckOf`, which ingest runs, is checked against.
 */
export function cachedValueSchemaOf(spec: MetricSpec): z.ZodType<number | boolean | string> {
  let schema = cache.get(spec);
  if (!schema) {
    schema = valueSchemaOf(spec);
    cache.set(spec, schema);
  }
  return schema;
}

const checks = new WeakMap<MetricSpec, (value: unknown) => boolean>();

/**
 * What the profile's value schema accepts, without running zod: a number (a safe integer for integer metrics, never
 * NaN or ±Infinity), a boolean, or one of an enum's values; zod's output is the value itself in each case. Checked
 * against `cachedValueSchemaOf` on generated values (value-schema-cache.test.ts), so the two cannot drift apart.
 * Once per metric of every reading: a zod parse there was the largest single cost of judging a reading.
 */
export function cachedValueCheckOf(spec: MetricSpec): (value: unknown) => boolean {
  let check = checks.get(spec);
  if (!check) {
    check = valueCheckOf(spec);
    checks.set(spec, check);
  }
  return check;
}

function valueCheckOf(spec: MetricSpec): (value: unknown) => boolean {
  switch (spec.type) {
    case 'number':
      return spec.integer
        ? (value) => typeof value === 'number' && Number.isSafeInteger(value)
        : (value) => typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'enum': {
      const values = new Set<unknown>(spec.values);
      return (value) => typeof value === 'string' && values.has(value);
    }
  }
}
