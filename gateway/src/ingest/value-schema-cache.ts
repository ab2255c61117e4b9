import type { z } from 'zod';
import { type MetricSpec, valueSchemaOf } from '../../../profiles/index.js';

const cache = new WeakMap<MetricSpec, z.ZodType<number | boolean | string>>();

/**
 * The profile's zod value schema of a metric, built once per spec: building a zod schema costs far more
 * than running it, and ingest checks every metric of every reading (bench/: the largest self time).
 */
export function cachedValueSchemaOf(spec: MetricSpec): z.ZodType<number | boolean | string> {
  let schema = cache.get(spec);
  if (!schema) {
    schema = valueSchemaOf(spec);
    cache.set(spec, schema);
  }
  return schema;
}
