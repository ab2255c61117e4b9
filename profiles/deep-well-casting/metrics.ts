import type { MetricSpec } from '../metric-spec.js';
import { FLOW_TO_M3H, LENGTH_TO_M, LENGTH_TO_MM, PERCENT_OF, PRESSURE_TO_MPA, TEMPERATURE_TO_C } from '../units.js';

/** domain/monitors.md § deep-well-casting: the wire names and canonical units. */
export const deepWellCastingMetrics: Record<string, MetricSpec> = {
  casting_active: { type: 'boolean', description: 'A cast is in progress (defines the active window)' },
  cast_length: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 12_000 },
    units: LENGTH_TO_MM,
    description: 'Drop length of the current cast',
  },
  cooling_pressure: {
    type: 'number',
    unit: 'MPa',
    range: { min: 0, max: 2 },
    units: PRESSURE_TO_MPA,
    description: 'Crystallizer cooling-water inlet pressure',
  },
  cooling_flow: {
    type: 'number',
    unit: 'm³/h',
    range: { min: 0, max: 3_000 },
    units: FLOW_TO_M3H,
    description: 'Crystallizer cooling-water inlet flow',
  },
  cooling_temp: {
    type: 'number',
    unit: '°C',
    range: { min: -10, max: 100 },
    units: TEMPERATURE_TO_C,
    description: 'Cooling-water temperature',
  },
  launder_level: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 500 },
    units: LENGTH_TO_MM,
    description: 'Metal level in the furnace outlet launder',
  },
  mould_inlet_level: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 500 },
    units: LENGTH_TO_MM,
    description: 'Metal level at the launder-to-mould-table inlet',
  },
  metal_temp: {
    type: 'number',
    unit: '°C',
    range: { min: 0, max: 1_100 },
    units: TEMPERATURE_TO_C,
    description: 'Molten metal temperature in the launder',
  },
  quick_shutoff: { type: 'enum', values: ['open', 'closed', 'fault'], description: 'Quick shut-off valve (快速切断阀)' },
  emergency_drain: { type: 'enum', values: ['closed', 'open', 'fault'], description: 'Emergency drain valve (紧急排放阀)' },
  launder_disconnect: {
    type: 'enum',
    values: ['engaged', 'disconnected', 'fault'],
    description: 'Launder disconnect device (流槽断开装置)',
  },
  tilt_back: { type: 'boolean', description: 'The tilting furnace tilted back (expected action of the interlock)' },
  pit_water_level: {
    type: 'number',
    unit: 'm',
    range: { min: 0, max: 20 },
    units: LENGTH_TO_M,
    description: 'Casting-pit water level, measured as distance below the mould (smaller = higher water)',
  },
  emergency_water_level: {
    type: 'number',
    unit: '%',
    range: { min: 0, max: 100 },
    units: PERCENT_OF,
    description: 'Emergency cooling-water reserve, % of its capacity',
  },
};
