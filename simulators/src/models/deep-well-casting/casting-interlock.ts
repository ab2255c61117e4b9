/** What the PLC measures of the cooling water and the metal: the values the device reports. */
export interface CastingMeasurement {
  pressure: number;
  flow: number;
  launder: number;
  inlet: number;
}

/** The device's set-points and level limits (its registry attributes). */
export interface InterlockLimits {
  pressureSetpoint: number;
  flowSetpoint: number;
  launderSetpoint: number;
  inletSetpoint: number;
  /** |level − set-point| that trips, mm. */
  levelTolerance: number;
  /** |level rate| that trips, mm/s. */
  levelRateLimit: number;
}

// The red conditions of profiles/deep-well-casting/rules.yaml, which the gateway checks the interlock against: a PLC
// that tripped on anything else would have the gateway raise interlock_failure for a plant that worked.
/** cooling_pressure_low / cooling_flow_low red: below 70 % of set-point. */
const LOW_FRACTION = 0.7;
/** cooling_pressure_falling red: 0.03 MPa/s over 1 s. */
const PRESSURE_FALL_MPA_S = 0.03;
const PRESSURE_WINDOW_MS = 1_000;
/** cooling_flow_drop red: a drop of 15 % within 2 s. */
const FLOW_DROP_PERCENT = 15;
const FLOW_WINDOW_MS = 2_000;
/** *_level_rising / *_level_falling: the rate over 2 s. */
const LEVEL_WINDOW_MS = 2_000;
const LONGEST_WINDOW_MS = Math.max(PRESSURE_WINDOW_MS, FLOW_WINDOW_MS, LEVEL_WINDOW_MS);

interface Scan {
  t: number;
  m: CastingMeasurement;
}

export interface InterlockTrip {
  /** Takes the scan at `t` into the PLC's history (rates need it even before the cast is armed). */
  record(t: number, measured: CastingMeasurement): void;
  /** Whether the newest scan shows a red cooling or level condition. */
  red(): boolean;
}

/**
 * The trip logic of the caster's PLC: the rules' red conditions on its own scans. A rate is measured as the
 * gateway's rate rules measure it, from the newest scan at least the window old, so that every reading on which the
 * gateway sees a red condition is one on which the PLC tripped (the reported values are scans of the PLC).
 */
export function createInterlockTrip(limits: InterlockLimits): InterlockTrip {
  const scans: Scan[] = [];
  const anchor = (now: number, window: number): Scan | undefined => {
    for (let i = scans.length - 2; i >= 0; i -= 1) {
      const scan = scans[i] as Scan;
      if (scan.t <= now - window) return scan;
    }
    return undefined;
  };
  return {
    record(t, m) {
      scans.push({ t, m });
      // keep one scan at least the longest window old (an anchor), and everything newer
      while (scans.length > 2 && (scans[1] as Scan).t <= t - LONGEST_WINDOW_MS) scans.shift();
    },
    red() {
      const newest = scans[scans.length - 1];
      if (!newest) return false;
      const { t, m } = newest;
      if (m.pressure <= LOW_FRACTION * limits.pressureSetpoint || m.flow <= LOW_FRACTION * limits.flowSetpoint) return true;
      if (Math.abs(m.launder - limits.launderSetpoint) >= limits.levelTolerance) return true;
      if (Math.abs(m.inlet - limits.inletSetpoint) >= limits.levelTolerance) return true;
      const p = anchor(t, PRESSURE_WINDOW_MS);
      if (p && ((p.m.pressure - m.pressure) / (t - p.t)) * 1_000 >= PRESSURE_FALL_MPA_S) return true;
      const f = anchor(t, FLOW_WINDOW_MS);
      if (f && f.m.flow > 0) {
        const drop = ((f.m.flow - m.flow) / f.m.flow) * 100 * Math.min(1, FLOW_WINDOW_MS / (t - f.t));
        if (drop >= FLOW_DROP_PERCENT) return true;
      }
      const l = anchor(t, LEVEL_WINDOW_MS);
      if (l) {
        const rate = (from: number, to: number): number => (Math.abs(to - from) / (t - l.t)) * 1_000;
        if (rate(l.m.launder, m.launder) >= limits.levelRateLimit || rate(l.m.inlet, m.inlet) >= limits.levelRateLimit) return true;
      }
      return false;
    },
  };
}
