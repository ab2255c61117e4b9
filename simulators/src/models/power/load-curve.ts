import { localHour, localWeekday } from '../../time/local-time.js';
import { smoothstep } from '../sensor.js';

export interface LoadCurve {
  idleKw: number;
  productionKw: number;
  /** Shift boundaries, local hours: [[8, 16], [16, 24]] runs two shifts. */
  shifts: ReadonlyArray<readonly [number, number]>;
  /** Days that produce, 0 = Sunday: Monday–Friday by default. */
  workdays: ReadonlySet<number>;
  utcOffsetHours: number;
}

/** Fraction of production load during a shift: ramp-up over 30 min, a dip at the meal break. */
function shiftShape(hour: number, from: number, to: number): number {
  if (hour < from || hour >= to) return 0;
  const ramp = smoothstep(from, from + 0.5, hour) * (1 - smoothstep(to - 0.25, to, hour));
  const mealBreak = Math.abs(hour - (from + 4)) < 0.5 ? 0.65 : 1;
  return ramp * mealBreak;
}

/** The plant's expected load (kW) at `t`, before noise: idle base plus the running shifts' production load. */
export function plannedLoad(curve: LoadCurve, t: number): number {
  const hour = localHour(t, curve.utcOffsetHours);
  if (!curve.workdays.has(localWeekday(t, curve.utcOffsetHours))) return curve.idleKw;
  let shape = 0;
  for (const [from, to] of curve.shifts) shape = Math.max(shape, shiftShape(hour, from, to));
  return curve.idleKw + (curve.productionKw - curve.idleKw) * shape;
}
