import { MINUTE } from '../../time/duration.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type ModelDefinition,
  type ModelInput,
  numberParam,
  type Report,
} from '../device-model.js';
import { clamp, lag, quantise } from '../sensor.js';

/** ppm → mg/m³ at 20 °C and 101.325 kPa (monitors.md: ppm = mg/m³ × 24.04 / M). */
const H2S_MOLAR_MASS = 34.08;
const CO_MOLAR_MASS = 28.01;
const toMgM3 = (ppm: number, molarMass: number): number => (ppm * molarMass) / 24.04;

/**
 * A pump-suction four-gas detector (O₂, LEL, H₂S, CO, optionally CO₂) in a pit or tank during permitted work:
 * clean air while the blower runs; stale air when it stops; a pocket of H₂S when sludge is disturbed.
 * Domain: monitors.md § confined-space.
 */
export const confinedSpaceModel: ModelDefinition = {
  profile: 'confined-space',
  defaultIntervalMs: 5_000,
  events: {
    ventilation_stop: 'the blower stops: O₂ −0.05 %/min, H₂S +0.5 ppm/min, CO +0.3 ppm/min (params o2Rate, h2sRate, coRate)',
    sludge_disturbed: 'sludge is stirred: H₂S 0 → 50 ppm in 10 s (param peak), then dilutes while ventilated',
    gas_leak: 'a combustible leak: LEL +5 %LEL/min (param rate)',
    permit_end: 'work ends: the permit closes, the blower stops, reports fall back to a 60-s heartbeat',
    o2_cell_dead: 'the oxygen cell dies: O₂ reads ~0.3 % while the other gases are normal',
    lel_over_range:
      'a rich pocket of combustible gas drives the catalytic LEL sensor past its 100 %LEL range (pinned there while it lasts); afterwards the bead, starved of oxygen, reads a fifth of the true value',
  },
  create: createConfinedSpace,
};

function createConfinedSpace({ rng, params, start }: ModelInput): DeviceModel {
  const workInterval = numberParam(params, 'intervalMs', 5_000);
  const mgUnits = params.toxicUnit === 'mg/m3';
  const hasCo2 = params.co2 === true;
  let o2 = 20.9;
  let h2s = 0;
  let co = rng.between(0, 3);
  let lel = rng.between(0, 1.5);
  let co2 = 0.04;
  let pocket = 0;
  let last = start;
  let permit = true;
  /** The catalytic bead saw more than its range: from then on it reads falsely low (monitors.md § confined-space). */
  let beadDamaged = false;

  return {
    intervalMs: () => (permit ? workInterval : 60_000),
    read(t: number, events: readonly ActiveEvent[]): Report {
      const dt = Math.max(0, t - last);
      last = t;
      const minutes = dt / MINUTE;
      permit = !hasEvent(events, 'permit_end');
      const stopped = hasEvent(events, 'ventilation_stop');
      const ventilated = permit && !stopped;
      if (stopped) {
        o2 -= numberParam(stopped.params, 'o2Rate', 0.05) * minutes;
        h2s += numberParam(stopped.params, 'h2sRate', 0.5) * minutes;
        co += numberParam(stopped.params, 'coRate', 0.3) * minutes;
        co2 += 0.02 * minutes;
      } else if (ventilated) {
        o2 = lag(o2, 20.9, dt, 3 * MINUTE);
        h2s = lag(h2s, 0, dt, 3 * MINUTE);
        co = lag(co, 2, dt, 3 * MINUTE);
        co2 = lag(co2, 0.04, dt, 3 * MINUTE);
      }
      const sludge = hasEvent(events, 'sludge_disturbed');
      if (sludge) {
        const peak = numberParam(sludge.params, 'peak', 50);
        pocket = Math.max(pocket, peak * clamp((t - sludge.since) / 10_000, 0, 1));
      } else {
        pocket = ventilated ? lag(pocket, 0, dt, 2 * MINUTE) : pocket;
      }
      const leak = hasEvent(events, 'gas_leak');
      lel = leak ? lel + numberParam(leak.params, 'rate', 5) * minutes : lag(lel, 1, dt, 2 * MINUTE);
      const overRange = hasEvent(events, 'lel_over_range');
      if (overRange) beadDamaged = true;
      const lelRead = overRange ? 100 + rng.between(0, 20) : beadDamaged ? lel / 5 : lel;

      const h2sPpm = clamp(h2s + pocket + rng.gaussian(0.15), 0, 200);
      const coPpm = clamp(co + rng.gaussian(0.4), 0, 1000);
      const dead = hasEvent(events, 'o2_cell_dead');
      const report: Report = {
        metrics: {
          o2: quantise(dead ? 0.3 + rng.gaussian(0.05) : clamp(o2 + rng.gaussian(0.04), 0, 30), 0.1),
          lel: quantise(clamp(lelRead + rng.gaussian(0.3), 0, 100), 1),
          h2s: mgUnits ? quantise(toMgM3(h2sPpm, H2S_MOLAR_MASS), 0.1) : quantise(h2sPpm, 1),
          co: mgUnits ? quantise(toMgM3(coPpm, CO_MOLAR_MASS), 0.1) : quantise(coPpm, 1),
          ventilation_running: ventilated,
          permit_active: permit,
        },
      };
      if (hasCo2) report.metrics.co2 = quantise(clamp(co2 + rng.gaussian(0.005), 0, 10), 0.01);
      if (mgUnits) report.units = { h2s: 'mg/m3', co: 'mg/m3' };
      return report;
    },
  };
}
