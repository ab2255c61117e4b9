import { HOUR, MINUTE } from '../../time/duration.js';
import { utcOffsetOf } from '../../time/local-time.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type ModelDefinition,
  type ModelInput,
  numberAttribute,
  numberParam,
  type Report,
} from '../device-model.js';
import { quantise } from '../sensor.js';
import { type LoadCurve, plannedLoad } from './load-curve.js';

/**
 * An enterprise (or sub-) electricity meter sending 15-min averages: idle base load at night and weekends,
 * production load in shifts with ramp-up and a meal-break dip, ±3 % process noise. A plant declared stopped
 * stays at idle — unless it secretly runs. Domain: monitors.md § power.
 */
/** A meter's production load and contracted capacity when its device gives none (kW). */
const PRODUCTION_KW = 400;
const CONTRACTED_KW = 630;

export const powerModel: ModelDefinition = {
  profile: 'power',
  defaultIntervalMs: 15 * MINUTE,
  aligned: true,
  events: {
    secret_running: 'the plant produces although declared stopped (production load, any hour)',
    production_stop: 'the plant really stops: idle load only',
    overload: 'load climbs to param fraction (default 0.95) of the contracted capacity',
    equipment_off: 'the metered equipment is switched off: ≈ 0 kW (on a safety sub-meter: the dust-collector fan or cooling pump stopped)',
  },
  // the profile requires p_prod_kw; createPower assumes these when a device has none
  registryAttributes: { p_prod_kw: PRODUCTION_KW, contracted_kw: CONTRACTED_KW },
  create: createPower,
};

function createPower({ rng, attributes, params, start }: ModelInput): DeviceModel {
  const productionKw = numberAttribute(attributes, 'p_prod_kw', PRODUCTION_KW);
  // the profile's default idle load: a tenth of the production load (profiles/power/index.ts)
  const idleKw = numberAttribute(attributes, 'p_idle_kw', 0.1 * productionKw);
  const contractedKw = numberAttribute(attributes, 'contracted_kw', CONTRACTED_KW);
  const declaredProducing = (attributes.declared_status ?? 'producing') === 'producing';
  const interval = numberParam(params, 'intervalMin', 15) * MINUTE;
  const shifts = numberParam(params, 'shifts', 2);
  const curve: LoadCurve = {
    idleKw,
    productionKw,
    shifts:
      shifts >= 3
        ? [
            [0, 8],
            [8, 16],
            [16, 24],
          ]
        : shifts === 2
          ? [
              [8, 16],
              [16, 24],
            ]
          : [[8, 17]],
    workdays: new Set(params.weekends === true ? [0, 1, 2, 3, 4, 5, 6] : [1, 2, 3, 4, 5]),
    utcOffsetHours: utcOffsetOf(attributes),
  };
  let wander = 0;
  let last = start;

  const loadAt = (t: number, events: readonly ActiveEvent[]): number => {
    const overload = hasEvent(events, 'overload');
    if (overload) return contractedKw * numberParam(overload.params, 'fraction', 0.95);
    if (hasEvent(events, 'equipment_off')) return 0;
    if (hasEvent(events, 'production_stop')) return idleKw;
    if (hasEvent(events, 'secret_running')) return productionKw * 0.92;
    return declaredProducing ? plannedLoad(curve, t) : idleKw;
  };

  return {
    intervalMs: () => interval,
    read(t: number, events: readonly ActiveEvent[]): Report {
      // The meter integrates over the interval just ended: its average power, and that power × the interval's exact
      // length as its energy (a 30-s meter sends 1/30 of a 15-min meter's energy, not a minute's worth).
      const from = t - Math.min(t - last, interval);
      const span = Math.max(1, t - from);
      const steps = Math.max(1, Math.ceil(span / MINUTE));
      let sum = 0;
      for (let i = 0; i < steps; i += 1) {
        wander = 0.9 * wander + rng.gaussian(0.01);
        const kw = loadAt(from + ((i + 0.5) * span) / steps, events);
        sum += Math.max(0, kw * (1 + wander + rng.gaussian(0.015)));
      }
      last = t;
      const power = quantise(sum / steps, 0.1);
      // energy from the power as sent, to the register's 1 Wh: the two always agree
      return { metrics: { active_power: power, energy: quantise((power * span) / HOUR, 0.001) } };
    },
  };
}
