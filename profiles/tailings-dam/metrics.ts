import type { MetricSpec } from '../metric-spec.js';
import { FLOW_TO_LS, LENGTH_TO_M, LENGTH_TO_MM, RAINFALL_TO_MM } from '../units.js';

const displacement = (axis: string): MetricSpec => ({
  type: 'number',
  unit: 'mm',
  range: { min: -20_000, max: 20_000 },
  units: LENGTH_TO_MM,
  description: `Dam surface displacement ${axis} (GNSS / total station), cumulative`,
});

/** domain/monitors.md § tailings-dam: the wire names and canonical units. */
export const tailingsDamMetrics: Record<string, MetricSpec> = {
  pond_level: {
    type: 'number',
    unit: 'm',
    range: { min: -500, max: 9_000 },
    units: LENGTH_TO_M,
    description: 'Pond water level (elevation)',
  },
  dry_beach_length: { type: 'number', unit: 'm', range: { min: 0, max: 5_000 }, units: LENGTH_TO_M, description: 'Dry beach length' },
  freeboard: {
    type: 'number',
    unit: 'm',
    range: { min: -10, max: 200 },
    units: LENGTH_TO_M,
    description: 'Safety freeboard: dam crest above the pond level (negative = overtopping)',
  },
  phreatic_depth: {
    type: 'number',
    unit: 'm',
    range: { min: 0, max: 300 },
    units: LENGTH_TO_M,
    description: 'Depth of the phreatic line below the dam surface at one piezometer',
  },
  disp_east: displacement('east'),
  disp_north: displacement('north'),
  disp_up: displacement('up'),
  rainfall: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 500 },
    units: RAINFALL_TO_MM,
    description: 'Rainfall in the reporting interval',
  },
  seepage_flow: {
    type: 'number',
    unit: 'L/s',
    range: { min: 0, max: 10_000 },
    units: FLOW_TO_LS,
    description: 'Seepage flow at the dam toe',
  },
};
