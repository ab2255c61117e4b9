/**
 * Shipped scenarios whose expectations (what a plant engineer expects) the profile rules do not meet yet.
 * Each is a finding for the rule or profile owner; when it is fixed, its test fails here — remove the entry.
 */
export const KNOWN_RULE_FINDINGS: Record<string, string> = {
  'mine-slope-normal': 'steady creep sits at α ≈ 45° by definition, so GNSS noise raises tangent_angle yellow',
  'mine-slope-drift': 'tangent_angle orange before the acceleration starts (noise), never red when v reaches 16 mm/d',
  'mine-slope-burst': 'tangent_angle and velocity_1h raised by noise and the rain coupling (×3 of 2 mm/d is still slow)',
  'mine-slope-fault':
    'one float-solution epoch (0.5 m jump) raises velocity_1h red and tangent_angle red; a frozen disp_east does not raise gnss_stuck',
};
