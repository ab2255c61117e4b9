import { MINUTE } from '../../time/duration.js';

export type CastPhase = 'idle' | 'preparing' | 'casting' | 'finishing';

export interface CastSchedule {
  /** First cast begins this long after the start. */
  firstCastAfterMs: number;
  /** Drop length of a full cast, mm. */
  lengthMm: number;
  /** Steady casting speed, mm/min. */
  speedMmPerMin: number;
  /** Time at the mould before the drop starts (valves open, launder filled). */
  prepareMs: number;
  /** Time between the end of one cast and the preparation of the next. */
  idleMs: number;
}

export const DEFAULT_CAST: CastSchedule = {
  firstCastAfterMs: 5 * MINUTE,
  lengthMm: 7200,
  speedMmPerMin: 80,
  prepareMs: 2 * MINUTE,
  idleMs: 30 * MINUTE,
};

/** Start-up: the drop speed ramps from 0 to full over the first minutes (the first 300–500 mm). */
const RAMP_MS = 6 * MINUTE;

/** Length cast after `ms` of drop: a linear speed ramp, then steady speed. */
export function castLengthAfter(ms: number, schedule: CastSchedule): number {
  const v = schedule.speedMmPerMin / MINUTE;
  if (ms <= RAMP_MS) return (v * ms * ms) / (2 * RAMP_MS);
  return (v * RAMP_MS) / 2 + v * (ms - RAMP_MS);
}

/** Duration of the drop for a full cast (≈ 90 min at 80 mm/min for 7.2 m). */
export function dropDuration(schedule: CastSchedule): number {
  const v = schedule.speedMmPerMin / MINUTE;
  return RAMP_MS + (schedule.lengthMm - (v * RAMP_MS) / 2) / v;
}

export interface CyclePosition {
  phase: CastPhase;
  /** Start of the current cycle's drop (casting), epoch ms. */
  dropStart: number;
  /** Index of the cast since the start. */
  cast: number;
}

/** Where in the idle → prepare → cast → finish cycle the plant is at `t`. */
export function cyclePosition(t: number, start: number, schedule: CastSchedule): CyclePosition {
  const drop = dropDuration(schedule);
  const cycle = schedule.prepareMs + drop + 3 * MINUTE + schedule.idleMs;
  const firstPrepare = start + schedule.firstCastAfterMs - schedule.prepareMs;
  if (t < firstPrepare) return { phase: 'idle', dropStart: firstPrepare + schedule.prepareMs, cast: 0 };
  const cast = Math.floor((t - firstPrepare) / cycle);
  const into = (t - firstPrepare) % cycle;
  const dropStart = firstPrepare + cast * cycle + schedule.prepareMs;
  if (into < schedule.prepareMs) return { phase: 'preparing', dropStart, cast };
  if (into < schedule.prepareMs + drop) return { phase: 'casting', dropStart, cast };
  if (into < schedule.prepareMs + drop + 3 * MINUTE) return { phase: 'finishing', dropStart, cast };
  return { phase: 'idle', dropStart: dropStart + cycle, cast: cast + 1 };
}
