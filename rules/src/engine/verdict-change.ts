import type { Inhibits } from '../inhibits.js';
import type { Verdict } from '../verdict.js';

/** A rule whose verdict changed (status or severity), as the alarm lifecycle consumes it. */
export interface VerdictChange {
  /** `site/device/rule`; for group rules `site/_site/rule` or `site/<item>/rule`. */
  key: string;
  site: string;
  /** The device; for group rules `_site` or the monitoring item. */
  device: string;
  profile: string;
  rule: string;
  source: string;
  verdict: Verdict;
  at: number;
  /** What the rule's condition explains while true (its `inhibits`, or its kind's default); absent: nothing. */
  inhibits?: Inhibits | undefined;
  /**
   * When the broker received the reading whose evaluation made this change (ms, the clock of the node that received
   * it), set by the telemetry lane; absent for a change made by time (a delay, silence), a reload or an acknowledgement.
   */
  receivedAt?: number | undefined;
}

/** The change that clears the alarm of a rule whose state is gone (the rule changed or was removed). */
export const clearChange = (
  key: string,
  site: string,
  device: string,
  profile: string,
  rule: string,
  source: string,
  when: number,
): VerdictChange => ({
  key,
  site,
  device,
  profile,
  rule,
  source,
  verdict: { status: 'false' },
  at: when,
});
