import { MINUTE } from '../../time/duration.js';
import { localHour, utcOffsetOf } from '../../time/local-time.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type Metrics,
  type ModelDefinition,
  type ModelInput,
  numberParam,
} from '../device-model.js';
import { clamp, lag, poisson, quantise, smoothstep } from '../sensor.js';

/**
 * A bag or cartridge filter (or a wet scrubber): ΔP saw-tooth between pulse cleanings, hopper temperature a
 * few degrees over ambient, fan, line and rotary valve states. Domain: monitors.md § dust-collector.
 */
export const dustCollectorModel: ModelDefinition = {
  profile: 'dust-collector',
  defaultIntervalMs: 30_000,
  events: {
    cleaning_failure: 'pulse cleaning stops: ΔP climbs ~20 Pa/min (param rate, Pa/min), conveying velocity falls',
    hopper_heating:
      'smouldering deposit in the hopper: +0.5 → 3 °C/min (param max), or a steady param rate °C/min (a fast smoulder: 6–10, past the 5 °C/min alarm); cools when it ends',
    bag_rupture: 'a bag tears: ΔP falls to ~150 Pa while the fan runs',
    fan_stop: 'the extraction fan stops (the line may keep running)',
    process_stop: 'the dust-producing line stops',
    valve_fault: 'the rotary discharge valve reports fault',
    sparks: 'the spark detector counts sparks (param perMinute, default 2)',
    water_loss: 'wet collector: tank level falls 0.05 m/min, circulation flow drops to 30 % and to 0 as the level reaches the pump intake',
    hydrogen: 'wet Al/Mg collector: hydrogen rises 2 %LEL/min (param rate)',
  },
  create: createDustCollector,
};

/** Height of the circulation pump's intake above the tank floor, m: below it the pump runs dry. */
const PUMP_INTAKE_M = 0.1;

function createDustCollector({ rng, attributes, params, start }: ModelInput): DeviceModel {
  const wet = attributes.collector_type === 'wet' || params.wet === true;
  const ambientMean = numberParam(params, 'ambient', 20);
  const utcOffset = utcOffsetOf(attributes);
  const inerted = params.inerted === true;
  const protectedByValves = params.explosionProtection !== false;
  const designFlow = typeof attributes.design_flow_m3h === 'number' ? attributes.design_flow_m3h : 20;

  let last = start;
  let dp = rng.between(1020, 1150);
  let pulseTarget = rng.between(1220, 1300);
  let nextPulse = start + rng.between(5, 15) * MINUTE;
  let riseRate = (pulseTarget - dp) / (nextPulse - start);
  const ambientAt = (t: number): number => ambientMean + 4 * Math.sin(((localHour(t, utcOffset) - 9) / 24) * 2 * Math.PI);
  let hopper = ambientAt(start) + rng.between(7, 11);
  let waterLevel = 0.6;
  let h2 = 1;
  const hopperOffset = rng.between(6, 12);

  return {
    intervalMs: () => 30_000,
    read(t: number, events: readonly ActiveEvent[]) {
      const dt = Math.max(0, t - last);
      last = t;
      const ambient = ambientAt(t);
      const fan = !hasEvent(events, 'fan_stop');
      const processRunning = !hasEvent(events, 'process_stop');
      const cleaning = hasEvent(events, 'cleaning_failure');
      const rupture = hasEvent(events, 'bag_rupture');

      if (!fan) {
        dp = lag(dp, 0, dt, 0.5 * MINUTE);
      } else if (rupture) {
        dp = lag(dp, 150, dt, 0.3 * MINUTE);
      } else if (cleaning) {
        dp += (numberParam(cleaning.params, 'rate', 20) * dt) / MINUTE;
      } else {
        if (dp < 900) dp = lag(dp, 1050, dt, 2 * MINUTE);
        dp += riseRate * dt;
        while (t >= nextPulse) {
          // A pulse knocks the cake off: about −200 Pa, back to the clean-bag baseline.
          dp = Math.max(rng.between(1000, 1080), dp - rng.between(180, 230));
          pulseTarget = rng.between(1220, 1300);
          const cycle = rng.between(5, 15) * MINUTE;
          riseRate = Math.max(0, pulseTarget - dp) / cycle;
          nextPulse += cycle;
        }
      }
      if (cleaning) nextPulse = Math.max(nextPulse, t + 5 * MINUTE);

      const heating = hasEvent(events, 'hopper_heating');
      if (heating) {
        // a slow deposit builds up 0.5 → 3 °C/min; a given rate is the smoulder's own, not capped by the slow build-up's max
        const minutes = (t - heating.since) / MINUTE;
        const given = heating.params.rate;
        const rate = typeof given === 'number' ? given : Math.min(numberParam(heating.params, 'max', 3), 0.5 + 0.25 * minutes);
        hopper += (rate * dt) / MINUTE;
      } else {
        hopper = lag(hopper, ambient + hopperOffset + (processRunning ? 0 : -4), dt, 12 * MINUTE);
      }

      const velocity = !fan ? 0 : clamp(21 - Math.max(0, dp - 1300) / 150, 8, 24);
      const metrics: Metrics = {
        diff_pressure: quantise(Math.max(0, dp + rng.gaussian(6)), 1),
        hopper_temp: quantise(hopper + rng.gaussian(0.12), 0.1),
        inlet_temp: quantise(ambient + (processRunning ? 6 : 1) + rng.gaussian(0.2), 0.1),
        outlet_temp: quantise(ambient + (processRunning ? 4 : 1) + rng.gaussian(0.2), 0.1),
        fan_running: fan,
        process_running: processRunning,
        rotary_valve: hasEvent(events, 'valve_fault') ? 'fault' : fan ? 'running' : 'stopped',
      };
      if (!wet) {
        const sparks = hasEvent(events, 'sparks');
        metrics.spark_count = sparks ? poisson(rng.next, (numberParam(sparks.params, 'perMinute', 2) * dt) / MINUTE) : 0;
        metrics.duct_velocity = quantise(velocity + (fan ? rng.gaussian(0.3) : 0), 0.1);
        if (protectedByValves) {
          metrics.isolation_valve = 'open';
          metrics.suppression = 'ready';
          metrics.vent_burst = false;
        }
        if (inerted) metrics.o2 = quantise(7 + rng.gaussian(0.1), 0.1);
      } else {
        const waterLoss = hasEvent(events, 'water_loss');
        waterLevel = waterLoss ? Math.max(0, waterLevel - (0.05 * dt) / MINUTE) : lag(waterLevel, 0.6, dt, 5 * MINUTE);
        // the pump draws from the tank: it runs dry as the level falls to its intake
        const submerged = smoothstep(PUMP_INTAKE_M, PUMP_INTAKE_M + 0.1, waterLevel);
        const flow = designFlow * (waterLoss ? 0.3 : 1.02) * submerged;
        // transmitters read no less than their floor (an empty tank, no flow): noise on it is not a sensor fault
        metrics.water_level = quantise(Math.max(0, waterLevel + rng.gaussian(0.005)), 0.01);
        metrics.circulation_flow = quantise(Math.max(0, flow + (flow > 0.5 ? rng.gaussian(0.2) : 0)), 0.1);
        const hydrogen = hasEvent(events, 'hydrogen');
        h2 = hydrogen ? h2 + (numberParam(hydrogen.params, 'rate', 2) * dt) / MINUTE : lag(h2, 1, dt, 10 * MINUTE);
        metrics.h2 = quantise(clamp(h2 + rng.gaussian(0.2), 0, 100), 1);
      }
      return { metrics };
    },
  };
}
