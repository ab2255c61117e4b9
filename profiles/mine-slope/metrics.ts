import type { MetricSpec } from '../metric-spec.js';
import { LENGTH_TO_M, LENGTH_TO_MM, RAINFALL_TO_MM } from '../units.js';

const displacement = (axis: string): MetricSpec => ({
  type: 'number',
  unit: 'mm',
  range: { min: -20_000, max: 20_000 },
  units: LENGTH_TO_MM,
  description: `GNSS displacement ${axis}, cumulative since installation`,
});

/** domain/monitors.md § mine-slope: the wire names and canonical units. */
export const mineSlopeMetrics: Record<string, MetricSpec> = {
  disp_east: displacement('east'),
  disp_north: displacement('north'),
  disp_up: displacement('up'),
  crack_width: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 2_000 },
    units: LENGTH_TO_MM,
    description: 'Ground crack width (crack gauge)',
  },
  rainfall: {
    type: 'number',
    unit: 'mm',
    range: { min: 0, max: 500 },
    units: RAINFALL_TO_MM,
    description: 'Rainfall in the reporting interval',
  },
  groundwater_level: {
    type: 'number',
    unit: 'm',
    range: { min: -1_000, max: 9_000 },
    units: LENGTH_TO_M,
    description: 'Groundwater level (elevation, same datum as the design level)',
  },
};
