import { MINUTE } from '../../time/duration.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type Metrics,
  type ModelDefinition,
  type ModelInput,
  numberAttribute,
  numberParam,
} from '../device-model.js';
import { clamp, quantise, smoothstep } from '../sensor.js';
import { type CastSchedule, castLengthAfter, cyclePosition, DEFAULT_CAST } from './casting-cycle.js';

/** The PLC needs ~100 ms; the valves and the tilt drive need most of a second to reach their end positions. */
const INTERLOCK_ACT_MS = 800;
/** After an interlock trip the drop is stopped and the table cleared this long afterwards. */
const ABORT_AFTER_MS = 60_000;

/**
 * One deep-well casting pit: casting cycles (prepare, ramp-up, ~90-min drop at 80 mm/min, finish, idle) with
 * crystallizer cooling water, launder and mould-inlet metal levels, and the emergency valves with their
 * interlock. Domain: monitors.md § deep-well-casting.
 */
export const castingModel: ModelDefinition = {
  profile: 'deep-well-casting',
  defaultIntervalMs: 30_000,
  events: {
    pump_trip: 'the cooling-water pump trips: pressure 0.20 → 0.05 MPa in 3 s, flow −80 %; the interlock acts within 1 s',
    bleed_out: 'a bleed-out: mould-inlet level +40 mm in 2 s; the interlock acts within 1 s',
    interlock_fails: 'while active, the valves do not move when the interlock should act',
    cooling_degraded: 'a partly closed valve: cooling flow falls to param fraction (default 0.8) of set-point over 2 min',
    warm_water: 'cooling water warms 0.5 °C/min (param rate) up to +15 °C',
    pit_water: 'water collects in the pit: its level rises 0.05 m/min toward the mould',
    emergency_water_low: 'the emergency water reserve drains 2 %/min',
  },
  create: createCasting,
};

function createCasting({ rng, attributes, params, start }: ModelInput): DeviceModel {
  const schedule: CastSchedule = {
    firstCastAfterMs: numberParam(params, 'firstCastAfterMin', DEFAULT_CAST.firstCastAfterMs / MINUTE) * MINUTE,
    lengthMm: numberParam(params, 'lengthMm', DEFAULT_CAST.lengthMm),
    speedMmPerMin: numberParam(params, 'speedMmPerMin', DEFAULT_CAST.speedMmPerMin),
    prepareMs: numberParam(params, 'prepareMin', DEFAULT_CAST.prepareMs / MINUTE) * MINUTE,
    idleMs: numberParam(params, 'idleMin', DEFAULT_CAST.idleMs / MINUTE) * MINUTE,
  };
  const pressureSet = numberAttribute(attributes, 'cooling_pressure_setpoint_mpa', 0.2);
  const flowSet = numberAttribute(attributes, 'cooling_flow_setpoint_m3h', 300);
  const launderSet = numberAttribute(attributes, 'launder_level_setpoint_mm', 120);
  const inletSet = numberAttribute(attributes, 'mould_inlet_level_setpoint_mm', 100);
  const fastMs = numberParam(params, 'castIntervalMs', 1_000);
  const idleInterval = numberParam(params, 'idleIntervalMs', 30_000);

  /** When the interlock tripped during the current cast (null: it has not). */
  let trippedAt: number | null = null;
  let interlockActed = false;
  let tripCast = -1;
  let coolingTemp = 22;
  let pitLevel = 3.0;
  let reserve = 96;
  let last = start;

  const positionAt = (t: number) => {
    const position = cyclePosition(t, start, schedule);
    if (trippedAt !== null && position.cast === tripCast && t >= trippedAt + ABORT_AFTER_MS && position.phase !== 'idle') {
      return { ...position, phase: 'idle' as const };
    }
    return position;
  };

  return {
    intervalMs(t) {
      const { phase } = positionAt(t);
      return phase === 'casting' || phase === 'preparing' ? fastMs : idleInterval;
    },
    read(t: number, events: readonly ActiveEvent[]) {
      const dt = Math.max(0, t - last);
      last = t;
      const position = positionAt(t);
      const { phase } = position;
      const active = phase === 'casting';
      const metalFlowing = phase === 'casting' || phase === 'preparing';
      const dropMs = Math.max(0, t - position.dropStart);

      const trip = hasEvent(events, 'pump_trip');
      const bleed = hasEvent(events, 'bleed_out');
      const cause = trip ?? bleed;
      if (cause && active && trippedAt === null) {
        trippedAt = cause.since;
        tripCast = position.cast;
        interlockActed = !hasEvent(events, 'interlock_fails');
      }
      if (trippedAt !== null && position.cast !== tripCast && phase !== 'idle') {
        trippedAt = null;
        interlockActed = false;
      }
      const acted = trippedAt !== null && interlockActed && t >= trippedAt + INTERLOCK_ACT_MS;

      // Cooling water: pressure and flow at set-point while the pump runs.
      let pressure = pressureSet;
      let flow = flowSet;
      if (trip) {
        const u = clamp((t - trip.since) / 3_000, 0, 1);
        pressure = pressureSet - (pressureSet - 0.05) * u;
        flow = flowSet * (1 - 0.8 * u);
      }
      const degraded = hasEvent(events, 'cooling_degraded');
      if (degraded) flow *= 1 - (1 - numberParam(degraded.params, 'fraction', 0.8)) * smoothstep(0, 2 * MINUTE, t - degraded.since);
      const warm = hasEvent(events, 'warm_water');
      const waterTarget = 22 + (active ? 6 * clamp(dropMs / (60 * MINUTE), 0, 1) : 0);
      coolingTemp = warm
        ? Math.min(coolingTemp + (numberParam(warm.params, 'rate', 0.5) * dt) / MINUTE, waterTarget + 15)
        : coolingTemp + (waterTarget - coolingTemp) * (1 - Math.exp(-dt / (5 * MINUTE)));

      // Metal levels: launder at set-point while metal flows; a bleed-out draws the mould inlet up.
      let launder = metalFlowing ? launderSet : 0;
      let inlet = metalFlowing ? inletSet : 0;
      if (metalFlowing && phase === 'preparing') {
        const fill = smoothstep(0, schedule.prepareMs * 0.6, t - (position.dropStart - schedule.prepareMs));
        launder *= fill;
        inlet *= fill;
      }
      if (bleed && metalFlowing) inlet += 40 * clamp((t - bleed.since) / 2_000, 0, 1);
      if (acted && trippedAt !== null) {
        // Launder disconnected and furnace tilted back: the metal drains off within seconds.
        const drain = 1 - smoothstep(trippedAt + INTERLOCK_ACT_MS, trippedAt + 8_000, t);
        launder *= drain;
        inlet *= drain;
      }

      const pit = hasEvent(events, 'pit_water');
      pitLevel = pit ? Math.max(0.2, pitLevel - (0.05 * dt) / MINUTE) : pitLevel + (3.0 - pitLevel) * (1 - Math.exp(-dt / (30 * MINUTE)));
      reserve = hasEvent(events, 'emergency_water_low')
        ? Math.max(0, reserve - (2 * dt) / MINUTE)
        : Math.min(96, reserve + (0.5 * dt) / MINUTE);

      const castLength = phase === 'casting' ? castLengthAfter(dropMs, schedule) : phase === 'finishing' ? schedule.lengthMm : 0;
      const valvesOpen = metalFlowing && !acted;
      const metrics: Metrics = {
        casting_active: active,
        cast_length: quantise(
          trippedAt !== null && acted ? castLengthAfter(Math.max(0, trippedAt - position.dropStart), schedule) : castLength,
          1,
        ),
        cooling_pressure: quantise(Math.max(0, pressure + rng.gaussian(0.0015)), 0.001),
        cooling_flow: quantise(Math.max(0, flow + rng.gaussian(flowSet * 0.006)), 0.1),
        cooling_temp: quantise(coolingTemp + rng.gaussian(0.1), 0.1),
        launder_level: quantise(Math.max(0, launder + (launder > 5 ? rng.gaussian(1.2) : 0)), 0.5),
        mould_inlet_level: quantise(Math.max(0, inlet + (inlet > 5 ? rng.gaussian(1.2) : 0)), 0.5),
        metal_temp: quantise(706 + rng.gaussian(2), 1),
        quick_shutoff: valvesOpen ? 'open' : 'closed',
        emergency_drain: acted ? 'open' : 'closed',
        launder_disconnect: acted ? 'disconnected' : 'engaged',
        tilt_back: acted,
        pit_water_level: quantise(pitLevel + rng.gaussian(0.005), 0.01),
        emergency_water_level: quantise(reserve + rng.gaussian(0.2), 0.1),
      };
      return { metrics };
    },
  };
}
