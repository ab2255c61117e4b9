import type { MetricSpec } from '../metric-spec.js';
import { ENERGY_TO_KWH, POWER_TO_KW } from '../units.js';

/** domain/monitors.md § power: the wire names and canonical units (15-min values, 96 a day). */
export const powerMetrics: Record<string, MetricSpec> = {
  active_power: {
    type: 'number',
    unit: 'kW',
    range: { min: 0, max: 1_000_000 },
    units: POWER_TO_KW,
    description: 'Active power, 15-min average',
  },
  energy: { type: 'number', unit: 'kWh', range: { min: 0, max: 1_000_000 }, units: ENERGY_TO_KWH, description: 'Energy in the interval' },
};
