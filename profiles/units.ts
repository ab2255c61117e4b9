import type { UnitConversion } from './metric-spec.js';

/** Molar volume at 20 °C and 101.325 kPa, L/mol (domain/monitors.md, confined-space). */
export const MOLAR_VOLUME_20C = 24.04;

/** Molar masses, g/mol, for mg/m³ → ppm. */
export const MOLAR_MASS = { h2s: 34.08, co: 28.01, nh3: 17.03, so2: 64.07, no2: 46.01, cl2: 70.9 } as const;

/** Molar masses of the gases whose limits are given in % vol, g/mol (CO₂ for mg/m³ → % vol). */
export const MOLAR_MASS_CO2 = 44.01;

export const mgPerM3ToPpm =
  (molarMass: number): UnitConversion =>
  (value) =>
    (value * MOLAR_VOLUME_20C) / molarMass;

const scale =
  (factor: number): UnitConversion =>
  (value) =>
    value * factor;

/** ppm of a gas → mg/m³ at 20 °C (the inverse, for tests and messages). */
export const ppmToMgPerM3 = (molarMass: number, ppm: number): number => (ppm * molarMass) / MOLAR_VOLUME_20C;

/** A toxic gas in ppm: ppm, mg/m³ (converted with its molar mass at 20 °C), µmol/mol. */
export const toxicGasToPpm = (molarMass: number): Record<string, UnitConversion> => {
  const fromMg = mgPerM3ToPpm(molarMass);
  return { ppm: scale(1), 'µmol/mol': scale(1), 'mg/m3': fromMg, 'mg/m³': fromMg };
};

/** A gas in % vol: %, ppm (10 000 ppm = 1 %), mg/m³ via its molar mass at 20 °C. */
export const gasToPercentVol = (molarMass: number): Record<string, UnitConversion> => {
  const fromMg = (mg: number): number => mgPerM3ToPpm(molarMass)(mg) / 10_000;
  return { '%': scale(1), '%vol': scale(1), '% vol': scale(1), ppm: scale(0.000_1), 'mg/m3': fromMg, 'mg/m³': fromMg };
};

/** Unit families: each maps a unit devices use to a conversion into the family's canonical unit. */
export const PRESSURE_TO_PA = {
  Pa: scale(1),
  kPa: scale(1_000),
  hPa: scale(100),
  mbar: scale(100),
  bar: scale(100_000),
  MPa: scale(1_000_000),
  mmH2O: scale(9.80665),
  inH2O: scale(249.0889),
};
export const PRESSURE_TO_MPA = { MPa: scale(1), kPa: scale(0.001), bar: scale(0.1), Pa: scale(0.000_001), psi: scale(0.006_894_757) };
export const TEMPERATURE_TO_C = {
  '°C': scale(1),
  C: scale(1),
  degC: scale(1),
  '°F': (f: number) => ((f - 32) * 5) / 9,
  F: (f: number) => ((f - 32) * 5) / 9,
  K: (k: number) => k - 273.15,
};
export const LENGTH_TO_M = { m: scale(1), cm: scale(0.01), mm: scale(0.001) };
export const LENGTH_TO_MM = { mm: scale(1), cm: scale(10), m: scale(1_000) };
export const FLOW_TO_M3H = {
  'm3/h': scale(1),
  'm³/h': scale(1),
  'L/min': scale(0.06),
  'L/s': scale(3.6),
  'm3/s': scale(3_600),
  't/h': scale(1),
};
export const FLOW_TO_LS = {
  'L/s': scale(1),
  'L/min': scale(1 / 60),
  'm3/h': scale(1 / 3.6),
  'm³/h': scale(1 / 3.6),
  'm3/d': scale(1 / 86.4),
  'm³/d': scale(1 / 86.4),
};
export const POWER_TO_KW = { kW: scale(1), W: scale(0.001), MW: scale(1_000) };
export const ENERGY_TO_KWH = { kWh: scale(1), Wh: scale(0.001), MWh: scale(1_000), kJ: scale(1 / 3_600), MJ: scale(1 / 3.6) };
export const RATE_TO_MM_S = { 'mm/s': scale(1), 'cm/s': scale(10), 'mm/min': scale(1 / 60) };
export const RAINFALL_TO_MM = { mm: scale(1), cm: scale(10), in: scale(25.4), m: scale(1_000) };
export const VELOCITY_TO_MS = { 'm/s': scale(1), 'km/h': scale(1 / 3.6) };
export const PERCENT = { '%': scale(1), '%vol': scale(1), '% vol': scale(1) };
/** A fraction of something (reserve, span): % or a 0…1 ratio. */
export const PERCENT_OF = { '%': scale(1), ratio: scale(100) };
export const PERCENT_LEL = { '%LEL': scale(1), '%lel': scale(1) };

/** The canonical unit itself only. */
export const only = (unit: string): Record<string, UnitConversion> => ({ [unit]: scale(1) });
