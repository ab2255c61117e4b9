import type { MetricValue } from './reading.js';
import type { Severity } from './severity.js';

/**
 * The three-valued result of one rule evaluation.
 * - `false`: normal;
 * - `pending`: a change is under way but not decided (an on-delay or off-delay is running);
 *   the alarm keeps what it had;
 * - `true`: in alarm at `severity`.
 */
export type Verdict =
  | { status: 'false' }
  | { status: 'pending'; dueAt: number | null }
  | {
      status: 'true';
      severity: Severity;
      metric: string | null;
      value: MetricValue | null;
      threshold: number | null;
      unit: string | null;
      message: string;
    };

export type ActiveVerdict = Extract<Verdict, { status: 'true' }>;

export const NORMAL: Verdict = { status: 'false' };
