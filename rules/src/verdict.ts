import type { MetricValue } from './reading.js';
import type { Severity } from './severity.js';

/** What an alarm event shows of the quantity the rule judged: at a raise, an escalation, or the clear. */
export interface VerdictDetail {
  metric: string | null;
  /** The quantity the rule judged (a reading, a rate, an aggregate), in `unit`. */
  value: MetricValue | null;
  /** The level it was compared with (on a clear: the clear value of the level left). */
  threshold: number | null;
  unit: string | null;
  message: string;
  /** The same message in Chinese (the `messageZh` extension of alarm events); absent: `message`. */
  messageZh?: string | undefined;
}

/**
 * The three-valued result of one rule evaluation.
 * - `false`: normal; `detail` says what the clearing value was, when the kind knows it;
 * - `pending`: a change is under way but not decided (an on-delay or off-delay is running);
 *   the alarm keeps what it had;
 * - `true`: in alarm at `severity`; `crossed` lists the lower levels the signal passed on the way up in this
 *   same evaluation (lowest first), each shown as its own transition before this one.
 */
export type Verdict =
  | { status: 'false'; detail?: VerdictDetail | undefined }
  | { status: 'pending'; dueAt: number | null }
  | ({
      status: 'true';
      severity: Severity;
      crossed?: ActiveVerdict[] | undefined;
    } & VerdictDetail);

export type ActiveVerdict = Extract<Verdict, { status: 'true' }>;

export const NORMAL: Verdict = { status: 'false' };
