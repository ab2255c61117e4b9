/** How many recent gaps between arrivals a device's cadence is learned from (their median). */
export const CADENCE_GAPS = 9;
/** Gaps shorter than this (or than half the profile's fastest cadence) are readings of one batch or burst, not the cadence. */
export const CADENCE_MIN_GAP_MS = 500;
/** A cadence is judged from this many gaps on; before, the slowest cadence the profile allows. */
export const CADENCE_LEARNED_AFTER = 2;

/** What a device's reporting cadence is learned from: when data last arrived and the recent gaps (ms). */
export interface CadenceState {
  last: number | null;
  gaps: number[];
}

/** The range of reporting intervals a profile allows, ms. */
export interface CadenceRange {
  minMs: number;
  maxMs: number;
}

/** Scratch for the median of a device's recent gaps (an insertion sort of at most CADENCE_GAPS: no allocation per reading). */
const GAPS = new Float64Array(16);

/** The median of a device's recent gaps. */
export function medianGap(values: readonly number[]): number {
  const n = values.length;
  for (let i = 0; i < n; i += 1) {
    const v = values[i] as number;
    let j = i - 1;
    while (j >= 0 && (GAPS[j] as number) > v) {
      GAPS[j + 1] = GAPS[j] as number;
      j -= 1;
    }
    GAPS[j + 1] = v;
  }
  const mid = n >> 1;
  return n % 2 === 1 ? (GAPS[mid] as number) : ((GAPS[mid - 1] as number) + (GAPS[mid] as number)) / 2;
}
