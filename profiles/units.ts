import type { UnitConversion } from './metric-spec.js';

/** Molar volume at 20 °C and 101.325 kPa, L/mol (domain/monitors.md, confined-space). */
export const MOLAR_VOLUME_20C = 24.04;

/** Molar masses, g/mol, for mg/m³ → ppm. */
export const MOLAR_MASS = { h2s: 34.08, co: 28.01, nh3: 17.03, so2: 64.07, no2: 46.01, cl2: 70.9 } as const;

export const mgPerM3ToPpm =
  (molarMass: number): UnitConversion =>
  (value) =>
    (value * MOLAR_VOLUME_20C) / molarMass;

const scale =
  (factor: number): UnitConversion =>
  (value) =>
    value * factor;

/** Unit families: each maps a unit devices use to a conversion into the family's canonical unit. */
export const PRESSURE_TO_PA = { Pa: scale(1), kPa: scale(1_000), hPa: scale(100), mbar: scale(100), bar: scale(100_000), MPa: scale(1_000_000), mmH2O: scale(9.80665), inH2O: scale(249.0889) };
export const PRESSURE_TO_MPA = { MPa: scale(1), kPa: scale(0.001), bar: scale(0.1), Pa: scale(0.000_001), psi: scale(0.006_894_757) };
export const TEMPERATURE_TO_C = { '°C': scale(1), C: scale(1), degC: scale(1), '°F': (f: number) => ((f - 32) * 5) / 9, F: (f: number) => ((f - 32) * 5) / 9, K: (k: number) => k - 273.15 };
export const LENGTH_TO_M = { m: scale(1), cm: scale(0.01), mm: scale(0.001) };
export const LENGTH_TO_MM = { mm: scale(1), cm: scale(10), m: scale(1_000) };
export const FLOW_TO_M3H = { 'm3/h': scale(1), 'm³/h': scale(1), 'L/min': scale(0.06), 'L/s': scale(3.6), 'm3/s': scale(3_600) };
export const VELOCITY_TO_MS = { 'm/s': scale(1), 'km/h': scale(1 / 3.6) };
export const PERCENT = { '%': scale(1), '%vol': scale(1), '% vol': scale(1) };
export const PERCENT_LEL = { '%LEL': scale(1), '%lel': scale(1) };

/** The canonical unit itself only. */
export const only = (unit: string): Record<string, UnitConversion> => ({ [unit]: scale(1) });
