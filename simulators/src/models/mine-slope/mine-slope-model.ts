import { DAY, HOUR, MINUTE } from '../../time/duration.js';
import { localHour, utcOffsetOf } from '../../time/local-time.js';
import {
  type ActiveEvent,
  type DeviceModel,
  hasEvent,
  type ModelDefinition,
  type ModelInput,
  numberParam,
  type Report,
} from '../device-model.js';
import { lag, quantise, smoothstep } from '../sensor.js';
import { type CreepLaw, creepVelocity, DEFAULT_CREEP, failureTime } from './creep-law.js';

/** 24-h rain that makes the slope accelerate a day later (monitors.md: "a day after 80 mm rain"). */
const RAIN_TRIGGER_MM = 80;
/** The velocity from which the station solves faster (monitors.md: more than 10 mm/d is orange). */
const WARN_MM_PER_DAY = 10;

/**
 * A GNSS monitoring station on an open-pit slope with a crack meter, rain gauge and piezometer: three-stage
 * creep, rain-coupled acceleration, GNSS noise and float-solution jumps, a solar supply that may die at
 * night. Its GNSS solves every 30 min, and every 10 min while the slope moves 10 mm/d or faster ("10–60 min, 10–30
 * when warned"). Domain: monitors.md § mine-slope.
 */
export const mineSlopeModel: ModelDefinition = {
  profile: 'mine-slope',
  defaultIntervalMs: 10 * MINUTE,
  aligned: true,
  events: {
    acceleration:
      'the slope leaves steady creep: velocity doubles every 2 days (param doublingDays), tertiary past 50 mm/d, failure 2 days later (the station goes silent)',
    rain: 'rain at param rate mm/h (default 10); 80 mm within 24 h accelerates the slope a day later',
    gnss_float: 'the receiver falls back to a float solution: positions jump by ~0.5 m (param offsetMm) and return',
    solar_weak: 'the solar supply cannot carry the station through the night: no reports 20:00–07:00',
    crack_opening: 'a crack opens param rate mm/d (default 3) faster than the creep implies',
  },
  create: createMineSlope,
};

function createMineSlope({ rng, attributes, params, start }: ModelInput): DeviceModel {
  const azimuth = (numberParam(params, 'azimuthDeg', 135) * Math.PI) / 180;
  const gnssEvery = numberParam(params, 'gnssEveryMin', 30) * MINUTE;
  // warned: the station's own velocity past the warning (its firmware, or the platform, asks for faster solutions)
  const gnssWarnedEvery = Math.min(gnssEvery, numberParam(params, 'gnssWarnedEveryMin', 10) * MINUTE);
  const warnVelocity = numberParam(params, 'warnMmPerDay', WARN_MM_PER_DAY);
  const interval = numberParam(params, 'intervalMin', 10) * MINUTE;
  const utcOffset = utcOffsetOf(attributes);
  const v0 = numberParam(params, 'v0MmPerDay', DEFAULT_CREEP.v0);
  const floatChance = numberParam(params, 'floatChance', 0);
  const groundwaterBase = numberParam(params, 'groundwaterLevel', 35);

  let horizontal = v0 * numberParam(params, 'installedDaysAgo', 100);
  let crack = numberParam(params, 'crackMm', 8);
  let last = start;
  let lastGnss: number | null = null;
  let rainCarry = 0;
  const rainLog: Array<{ t: number; mm: number }> = [];
  let boostAt: number | null = null;
  let recharge = 0;
  let groundwater = groundwaterBase;

  const lawOf = (acceleration: ActiveEvent | undefined): CreepLaw => ({
    ...DEFAULT_CREEP,
    v0,
    doublingMs: acceleration ? numberParam(acceleration.params, 'doublingDays', 2) * DAY : DEFAULT_CREEP.doublingMs,
    accelerateAt: acceleration ? acceleration.since : null,
  });
  const rainFactor = (t: number): number =>
    boostAt === null || t < boostAt ? 1 : 1 + 2 * smoothstep(boostAt, boostAt + 6 * HOUR, t) * Math.exp(-(t - boostAt) / (3 * DAY));

  return {
    intervalMs: () => interval,
    read(t: number, events: readonly ActiveEvent[]): Report | null {
      const law = lawOf(hasEvent(events, 'acceleration'));
      // the slope has slid and taken the station with it: it sends nothing more (the gateway sees it silent)
      const failure = failureTime(law);
      if (failure !== null && t >= failure) return null;
      const dt = Math.max(0, t - last);
      // Midpoint rule over the step: the velocity changes slowly against a 10-min step, except at failure.
      const mid = last + dt / 2;
      horizontal += (creepVelocity(law, mid) * rainFactor(mid) * dt) / DAY;
      const opening = hasEvent(events, 'crack_opening');
      crack += ((0.3 * creepVelocity(law, mid) * rainFactor(mid) + (opening ? numberParam(opening.params, 'rate', 3) : 0)) * dt) / DAY;
      last = t;

      const rain = hasEvent(events, 'rain');
      rainCarry += rain ? (numberParam(rain.params, 'rate', 10) * rng.between(0.6, 1.4) * dt) / HOUR : 0;
      const tipped = Math.floor(rainCarry / 0.2 + 1e-9) * 0.2;
      rainCarry -= tipped;
      rainLog.push({ t, mm: tipped });
      while (rainLog.length > 0 && (rainLog[0]?.t ?? t) <= t - DAY) rainLog.shift();
      const last24h = rainLog.reduce((sum, r) => sum + r.mm, 0);
      if (boostAt === null && last24h >= RAIN_TRIGGER_MM) boostAt = t + DAY;
      recharge = lag(recharge, 0, dt, 5 * DAY) + tipped;
      groundwater = lag(groundwater, groundwaterBase + 0.02 * recharge, dt, 12 * HOUR);

      if (hasEvent(events, 'solar_weak')) {
        const hour = localHour(t, utcOffset);
        if (hour >= 20 || hour < 7) return null;
      }
      const report: Report = {
        metrics: {
          crack_width: quantise(crack + rng.gaussian(0.03), 0.01),
          rainfall: quantise(tipped, 0.2),
          groundwater_level: quantise(groundwater + rng.gaussian(0.01), 0.01),
        },
      };
      const warned = creepVelocity(law, t) * rainFactor(t) >= warnVelocity;
      const gnssDue = lastGnss === null || t >= lastGnss + (warned ? gnssWarnedEvery : gnssEvery) - (interval > 0 ? 1 : 0);
      if (gnssDue) {
        lastGnss = t;
        const floating = hasEvent(events, 'gnss_float');
        const jump = floating || (floatChance > 0 && rng.chance(floatChance));
        const offset = jump ? numberParam(floating?.params ?? {}, 'offsetMm', 500) : 0;
        const jumpDir = rng.next() * 2 * Math.PI;
        report.metrics.disp_east = quantise(horizontal * Math.sin(azimuth) + rng.gaussian(1.5) + offset * Math.sin(jumpDir), 0.1);
        report.metrics.disp_north = quantise(horizontal * Math.cos(azimuth) + rng.gaussian(1.5) + offset * Math.cos(jumpDir), 0.1);
        report.metrics.disp_up = quantise(-0.35 * horizontal + rng.gaussian(3) + (jump ? offset * 0.6 : 0), 0.1);
      }
      return report;
    },
  };
}
