/**
 * A profile with one silence rule (15 min) and one threshold with a 10 min on-delay: the two kinds whose timers a
 * saved, resumed or forgotten engine state must keep (or drop) right.
 */
export const SILENT_AND_HOT_RULES = `
profile: p
rules:
  - id: silent
    kind: silence
    ladder:
      - { after: 15m, severity: yellow }
    source: test
  - id: hot
    kind: threshold
    metric: t
    direction: above
    onDelay: 10m
    levels:
      yellow: { raise: 60, clear: 58 }
    source: test
`;
