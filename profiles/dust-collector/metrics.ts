import type { MetricSpec } from '../metric-spec.js';
import { FLOW_TO_M3H, LENGTH_TO_M, only, PERCENT, PERCENT_LEL, PRESSURE_TO_PA, TEMPERATURE_TO_C, VELOCITY_TO_MS } from '../units.js';

const temperature = (description: string): MetricSpec => ({
  type: 'number',
  unit: '°C',
  range: { min: -40, max: 400 },
  units: TEMPERATURE_TO_C,
  description,
});

/** domain/monitors.md § dust-collector: the wire names and canonical units. */
export const dustCollectorMetrics: Record<string, MetricSpec> = {
  diff_pressure: {
    type: 'number',
    unit: 'Pa',
    range: { min: 0, max: 6_000 },
    units: PRESSURE_TO_PA,
    description: 'Inlet–outlet pressure difference across the filter',
  },
  hopper_temp: temperature('Ash hopper temperature'),
  inlet_temp: temperature('Collector inlet gas temperature'),
  outlet_temp: temperature('Collector outlet gas temperature'),
  fan_running: { type: 'boolean', description: 'Main extraction fan running' },
  process_running: { type: 'boolean', description: 'The dust-producing line (grinding, polishing, sanding) is running' },
  rotary_valve: { type: 'enum', values: ['running', 'stopped', 'fault'], description: 'Lock-air (rotary) discharge valve state' },
  spark_count: {
    type: 'number',
    unit: 'sparks',
    integer: true,
    range: { min: 0, max: 100_000 },
    units: only('sparks'),
    description: 'Sparks detected in the reporting interval',
  },
  duct_velocity: {
    type: 'number',
    unit: 'm/s',
    range: { min: 0, max: 60 },
    units: VELOCITY_TO_MS,
    description: 'Conveying velocity in the duct',
  },
  vent_burst: { type: 'boolean', description: 'Explosion vent panel burst' },
  isolation_valve: { type: 'enum', values: ['open', 'triggered', 'fault'], description: 'Explosion isolation valve' },
  suppression: { type: 'enum', values: ['ready', 'fired', 'fault'], description: 'Explosion suppression system' },
  o2: { type: 'number', unit: '%', range: { min: 0, max: 30 }, units: PERCENT, description: 'Oxygen in an inerted system, % vol' },
  water_level: { type: 'number', unit: 'm', range: { min: 0, max: 10 }, units: LENGTH_TO_M, description: 'Wet collector tank water level' },
  circulation_flow: {
    type: 'number',
    unit: 'm³/h',
    range: { min: 0, max: 1_000 },
    units: FLOW_TO_M3H,
    description: 'Wet collector circulation flow',
  },
  h2: {
    type: 'number',
    unit: '%LEL',
    range: { min: 0, max: 100 },
    units: PERCENT_LEL,
    description: 'Hydrogen in wet Al/Mg dust collection, %LEL',
  },
};
