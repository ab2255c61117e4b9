import { z } from 'zod';

/** Converts a value in a device's unit to the metric's canonical unit. */
export type UnitConversion = (value: number) => number;

export interface NumberMetric {
  type: 'number';
  /** Canonical unit, as stored and as rules see it. */
  unit: string;
  /** What the sensor can physically report; a value outside is a sensor fault (rules), not a rejection. */
  range: { min: number; max: number };
  /** Other units devices may send, each with its conversion to `unit`. */
  units: Readonly<Record<string, UnitConversion>>;
  integer?: boolean;
  description: string;
}

export interface BooleanMetric {
  type: 'boolean';
  description: string;
}

export interface EnumMetric {
  type: 'enum';
  values: readonly [string, ...string[]];
  description: string;
}

export type MetricSpec = NumberMetric | BooleanMetric | EnumMetric;

/**
 * The zod schema of one metric's value: what a valid value is. Ingest runs a compiled check that accepts exactly
 * what it accepts (gateway/src/ingest/value-schema-cache.ts, checked against it on generated values).
 */
export function valueSchemaOf(spec: MetricSpec): z.ZodType<number | boolean | string> {
  switch (spec.type) {
    case 'number':
      return spec.integer ? z.number().int() : z.number();
    case 'boolean':
      return z.boolean();
    case 'enum':
      return z.enum(spec.values);
  }
}

export function unitOf(spec: MetricSpec): string | null {
  return spec.type === 'number' ? spec.unit : null;
}
