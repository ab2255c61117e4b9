import type { MetricSpec } from '../metric-spec.js';
import { gasToPercentVol, MOLAR_MASS, MOLAR_MASS_CO2, PERCENT, PERCENT_LEL, toxicGasToPpm } from '../units.js';

/**
 * domain/monitors.md § confined-space: the wire names and canonical units. Toxic gases may arrive in mg/m³;
 * they are converted at 20 °C and 101.325 kPa with each gas's molar mass (ppm = mg/m³ × 24.04 / M).
 */
export const confinedSpaceMetrics: Record<string, MetricSpec> = {
  o2: { type: 'number', unit: '%', range: { min: 0, max: 30 }, units: PERCENT, description: 'Oxygen, % vol' },
  lel: {
    type: 'number',
    unit: '%LEL',
    range: { min: 0, max: 200 },
    units: PERCENT_LEL,
    description: 'Combustible gas, % of the lower explosive limit (catalytic sensors report over-range above 100)',
  },
  h2s: {
    type: 'number',
    unit: 'ppm',
    range: { min: 0, max: 1_000 },
    units: toxicGasToPpm(MOLAR_MASS.h2s),
    description: 'Hydrogen sulfide',
  },
  co: { type: 'number', unit: 'ppm', range: { min: 0, max: 2_000 }, units: toxicGasToPpm(MOLAR_MASS.co), description: 'Carbon monoxide' },
  co2: {
    type: 'number',
    unit: '%',
    range: { min: 0, max: 10 },
    units: gasToPercentVol(MOLAR_MASS_CO2),
    description: 'Carbon dioxide, % vol (optional)',
  },
  ventilation_running: { type: 'boolean', description: 'Forced ventilation of the space is running' },
  permit_active: { type: 'boolean', description: 'An approved confined-space work permit is active' },
};
