import { deepWellCastingAttributes } from '../../../../profiles/deep-well-casting/index.js';
import type { Rng } from '../../random/prng.js';
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
import { type CastSchedule, type CyclePosition, castLengthAfter, cyclePosition, DEFAULT_CAST } from './casting-cycle.js';
import { type CastingMeasurement, createInterlockTrip } from './casting-interlock.js';

/** The PLC needs ~100 ms; the valves and the tilt drive need most of a second to reach their end positions. */
const INTERLOCK_ACT_MS = 800;
/**
 * Once the valves have acted the PLC stops the drop and ends the cast (casting_active false) within a second
 * (rules.yaml: "the interlock acting ends the cast within a second, and with it every rule guarded by casting_active").
 */
const CAST_ENDS_AFTER_ACT_MS = 1_000;
/** After a trip the PLC keeps reporting at its cast rate while the table is cleared, then at its idle rate. */
const TABLE_CLEARED_AFTER_MS = 60_000;
/** The PLC scans its inputs this often: it trips within ~100 ms of a red condition, not at the next report. */
const SCAN_MS = 100;
/** The events that move the cooling water or the metal levels: what the PLC can trip on. */
const PLANT_EVENTS = ['pump_trip', 'bleed_out', 'cooling_degraded'];
/** The profile's defaults for what a device's registry leaves out (arming length, level limits). */
const PROFILE_DEFAULTS = deepWellCastingAttributes.parse({});

/**
 * One deep-well casting pit: casting cycles (prepare, ramp-up, ~90-min drop at 80 mm/min, finish, idle) with
 * crystallizer cooling water, launder and mould-inlet metal levels, and the emergency valves with their
 * interlock. Domain: monitors.md § deep-well-casting.
 */
export const castingModel: ModelDefinition = {
  profile: 'deep-well-casting',
  defaultIntervalMs: 30_000,
  events: {
    pump_trip:
      'the cooling-water pump trips: pressure 0.20 → 0.05 MPa in 3 s, flow −80 %; once the cast is armed the interlock acts within 1 s',
    bleed_out: 'a bleed-out: mould-inlet level +40 mm in 2 s; once the cast is armed the interlock acts within 1 s',
    interlock_fails: 'while active, the valves do not move when the interlock should act',
    cooling_degraded:
      'a partly closed valve: cooling flow falls to param fraction (default 0.8) of set-point over 2 min, the inlet pressure with its square',
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

  const limits = {
    pressureSetpoint: pressureSet,
    flowSetpoint: flowSet,
    launderSetpoint: launderSet,
    inletSetpoint: inletSet,
    levelTolerance: numberAttribute(attributes, 'level_tolerance_mm', PROFILE_DEFAULTS.level_tolerance_mm),
    levelRateLimit: numberAttribute(attributes, 'level_rate_limit_mm_s', PROFILE_DEFAULTS.level_rate_limit_mm_s),
  };
  // monitors.md: interlocks act during the active cast, after the first 300–500 mm of drop
  const armLength = numberAttribute(attributes, 'arm_length_mm', PROFILE_DEFAULTS.arm_length_mm);
  // the PLC's scans between reports draw their own noise: the reported values stay the same stream
  const scanRng = rng.fork('plc-scans');

  /** When the PLC saw a red condition during the current cast (null: it has not). */
  let trippedAt: number | null = null;
  let interlockActed = false;
  let tripCast = -1;
  let plc = createInterlockTrip(limits);
  let coolingTemp = 22;
  let pitLevel = 3.0;
  let reserve = 96;
  let last = start;

  /** When the valves reached their end positions (null: they have not moved). */
  const actedAt = (): number | null => (trippedAt !== null && interlockActed ? trippedAt + INTERLOCK_ACT_MS : null);

  const positionAt = (t: number): CyclePosition => {
    const position = cyclePosition(t, start, schedule);
    const acted = actedAt();
    if (acted !== null && position.cast === tripCast && t >= acted + TABLE_CLEARED_AFTER_MS && position.phase !== 'idle') {
      return { ...position, phase: 'idle' };
    }
    return position;
  };
  /** The drop runs: a cast in progress that the interlock has not ended. */
  const castingAt = (t: number, position: CyclePosition): boolean => {
    const acted = actedAt();
    return position.phase === 'casting' && !(acted !== null && position.cast === tripCast && t >= acted + CAST_ENDS_AFTER_ACT_MS);
  };
  const castLengthAt = (t: number, position: CyclePosition): number => {
    if (position.phase === 'finishing') return schedule.lengthMm;
    if (position.phase !== 'casting') return 0;
    const acted = actedAt();
    const dropEnd = acted !== null && position.cast === tripCast ? Math.min(t, acted + CAST_ENDS_AFTER_ACT_MS) : t;
    return castLengthAfter(Math.max(0, dropEnd - position.dropStart), schedule);
  };

  /** Cooling water at `t` before sensor noise: set-point while the pump runs; the pressure falls with the flow squared. */
  const coolingAt = (t: number, events: readonly ActiveEvent[]): { pressure: number; flow: number } => {
    let pressure = pressureSet;
    let flow = flowSet;
    const trip = since(events, 'pump_trip', t);
    if (trip) {
      const u = clamp((t - trip.since) / 3_000, 0, 1);
      pressure = pressureSet - (pressureSet - 0.05) * u;
      flow = flowSet * (1 - 0.8 * u);
    }
    const degraded = since(events, 'cooling_degraded', t);
    if (degraded) {
      // the valve throttles upstream of the inlet transmitter: through the mould's fixed resistance p ∝ Q²
      const k = 1 - (1 - numberParam(degraded.params, 'fraction', 0.8)) * smoothstep(0, 2 * MINUTE, t - degraded.since);
      flow *= k;
      pressure *= k * k;
    }
    return { pressure, flow };
  };

  /** Metal levels at `t` before sensor noise: at set-point while metal flows; a bleed-out draws the mould inlet up. */
  const levelsAt = (t: number, events: readonly ActiveEvent[], position: CyclePosition): { launder: number; inlet: number } => {
    const metalFlowing = position.phase === 'casting' || position.phase === 'preparing';
    let launder = metalFlowing ? launderSet : 0;
    let inlet = metalFlowing ? inletSet : 0;
    if (metalFlowing && position.phase === 'preparing') {
      const fill = smoothstep(0, schedule.prepareMs * 0.6, t - (position.dropStart - schedule.prepareMs));
      launder *= fill;
      inlet *= fill;
    }
    const bleed = since(events, 'bleed_out', t);
    if (bleed && metalFlowing) inlet += 40 * clamp((t - bleed.since) / 2_000, 0, 1);
    const acted = actedAt();
    if (acted !== null && position.cast === tripCast) {
      // Launder disconnected and furnace tilted back: the metal drains off within seconds.
      const drain = 1 - smoothstep(acted, acted + 7_200, t);
      launder *= drain;
      inlet *= drain;
    }
    return { launder, inlet };
  };

  const measure = (t: number, events: readonly ActiveEvent[], position: CyclePosition, noise: Rng): CastingMeasurement => {
    const { pressure, flow } = coolingAt(t, events);
    const { launder, inlet } = levelsAt(t, events, position);
    return {
      pressure: quantise(Math.max(0, pressure + noise.gaussian(0.0015)), 0.001),
      flow: quantise(Math.max(0, flow + noise.gaussian(flowSet * 0.006)), 0.1),
      launder: quantise(Math.max(0, launder + (launder > 5 ? noise.gaussian(1.2) : 0)), 0.5),
      inlet: quantise(Math.max(0, inlet + (inlet > 5 ? noise.gaussian(1.2) : 0)), 0.5),
    };
  };

  /** The PLC takes scan `m` at `t`, and trips when the cast is armed and the scan shows a red condition. */
  const scan = (t: number, m: CastingMeasurement, position: CyclePosition, events: readonly ActiveEvent[]): void => {
    plc.record(t, m);
    const armed = castingAt(t, position) && quantise(castLengthAt(t, position), 1) >= armLength;
    if (trippedAt === null && armed && plc.red()) {
      trippedAt = t;
      tripCast = position.cast;
      interlockActed = !since(events, 'interlock_fails', t);
    }
  };

  return {
    intervalMs(t) {
      const { phase } = positionAt(t);
      return phase === 'casting' || phase === 'preparing' ? fastMs : idleInterval;
    },
    read(t: number, events: readonly ActiveEvent[]) {
      const dt = Math.max(0, t - last);
      const position = positionAt(t);
      if (trippedAt !== null && position.cast !== tripCast && position.phase !== 'idle') {
        // the valves are reset for the next cast
        trippedAt = null;
        interlockActed = false;
        plc = createInterlockTrip(limits);
      }
      // The PLC's own scans since the last report, while a cast runs and an event moves the water or the metal: at
      // set-point the noise stays far inside every trip limit, and the reports are scans too.
      const moving = PLANT_EVENTS.some((name) => since(events, name, t));
      for (let s = last + SCAN_MS; moving && s < t && trippedAt === null; s += SCAN_MS) {
        const at = positionAt(s);
        if (castingAt(s, at)) scan(s, measure(s, events, at, scanRng), at, events);
      }
      last = t;

      const active = castingAt(t, position);
      const dropMs = Math.max(0, t - position.dropStart);
      const warm = hasEvent(events, 'warm_water');
      const waterTarget = 22 + (active ? 6 * clamp(dropMs / (60 * MINUTE), 0, 1) : 0);
      coolingTemp = warm
        ? Math.min(coolingTemp + (numberParam(warm.params, 'rate', 0.5) * dt) / MINUTE, waterTarget + 15)
        : coolingTemp + (waterTarget - coolingTemp) * (1 - Math.exp(-dt / (5 * MINUTE)));
      const pit = hasEvent(events, 'pit_water');
      pitLevel = pit ? Math.max(0.2, pitLevel - (0.05 * dt) / MINUTE) : pitLevel + (3.0 - pitLevel) * (1 - Math.exp(-dt / (30 * MINUTE)));
      reserve = hasEvent(events, 'emergency_water_low')
        ? Math.max(0, reserve - (2 * dt) / MINUTE)
        : Math.min(96, reserve + (0.5 * dt) / MINUTE);

      const measured = measure(t, events, position, rng);
      // the report is one of the PLC's scans: whatever red condition the gateway sees in it, the PLC saw too
      if (trippedAt === null) scan(t, measured, position, events);
      const acted = actedAt() !== null && t >= (actedAt() as number);
      const valvesOpen = (position.phase === 'casting' || position.phase === 'preparing') && !acted;
      const metrics: Metrics = {
        casting_active: active,
        cast_length: quantise(castLengthAt(t, position), 1),
        cooling_pressure: measured.pressure,
        cooling_flow: measured.flow,
        cooling_temp: quantise(coolingTemp + rng.gaussian(0.1), 0.1),
        launder_level: measured.launder,
        mould_inlet_level: measured.inlet,
        metal_temp: quantise(706 + rng.gaussian(2), 1),
        quick_shutoff: valvesOpen ? 'open' : 'closed',
        emergency_drain: acted ? 'open' : 'closed',
        launder_disconnect: acted ? 'disconnected' : 'engaged',
        tilt_back: acted,
        pit_water_level: quantise(pitLevel + rng.gaussian(0.005), 0.01),
        // the transmitter reads no less than an empty reserve: noise on 0 % must not read as a broken sensor
        emergency_water_level: quantise(clamp(reserve + rng.gaussian(0.2), 0, 100), 0.1),
      };
      return { metrics };
    },
  };
}

/** The event `name` if it is active and had begun by `t` (the PLC's scans between reports lie before `t`). */
function since(events: readonly ActiveEvent[], name: string, t: number): ActiveEvent | undefined {
  const event = hasEvent(events, name);
  return event && event.since <= t ? event : undefined;
}
