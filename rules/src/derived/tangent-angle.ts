/**
 * The improved tangent angle of a slope's deformation curve (domain/monitors.md § mine-slope).
 *
 * With T = cumulative displacement ÷ v0 (the steady-stage velocity), the curve T(t) has the slope
 * dT/dt = v / v0, so α = arctan(v / v0): 45° in steady creep, approaching 90° as the slope accelerates.
 * Below `minVelocity` the angle is not defined (noise at low speed would produce steep angles): `null`.
 *
 * @param velocity current displacement velocity (any unit, e.g. mm/d)
 * @param steadyVelocity the steady-stage velocity in the same unit (> 0)
 * @param minVelocity velocity gate in the same unit
 * @returns the angle in degrees, or null
 */
export function tangentAngle(velocity: number, steadyVelocity: number, minVelocity = 0): number | null {
  if (!Number.isFinite(velocity) || !Number.isFinite(steadyVelocity) || steadyVelocity <= 0) return null;
  if (velocity < minVelocity) return null;
  return (Math.atan(velocity / steadyVelocity) * 180) / Math.PI;
}

/** The tangent-angle warning level of the improved method: 45–80 yellow, 80–85 orange, ≥ 85 red. */
export function tangentAngleSeverity(angle: number | null): 'yellow' | 'orange' | 'red' | null {
  if (angle === null || angle < 45) return null;
  if (angle >= 85) return 'red';
  if (angle >= 80) return 'orange';
  return angle > 45 ? 'yellow' : null;
}
