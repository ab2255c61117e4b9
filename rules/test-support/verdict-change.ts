import type { VerdictChange } from '../src/rule-engine.js';
import type { Severity } from '../src/severity.js';

/** A rule's verdict change for the alarm book: `severity` true at that level, null back to normal (tests only). */
export function verdictChange(
  at: number,
  severity: Severity | null,
  where: { site?: string; device?: string; rule?: string } = {},
): VerdictChange {
  const { site = 's', device = 'd', rule = 'r' } = where;
  return {
    key: `${site}/${device}/${rule}`,
    site,
    device,
    profile: 'p',
    rule,
    source: 'test',
    at,
    verdict:
      severity === null ? { status: 'false' } : { status: 'true', severity, metric: 'x', value: 1, threshold: 1, unit: null, message: 'm' },
  };
}
