import { HOUR } from '../time/duration.js';
import type { Scenario } from './scenario-schema.js';

/**
 * The longest raise window an expectation may have without a `note` saying why. A window of days lets a regression
 * that delays an alarm by days pass; where the physics truly takes that long (slow acceleration against GNSS noise),
 * the note says so and where the moment comes from.
 */
export const LOOSE_WINDOW_MS = 12 * HOUR;

/** Expectations whose `within` is longer than `LOOSE_WINDOW_MS` and that carry no `note`, as `expect[i] device/rule`. */
export function unexplainedLooseWindows(scenario: Scenario): string[] {
  return scenario.expect.flatMap((expected, index) =>
    expected.within > LOOSE_WINDOW_MS && !expected.note?.trim() ? [`expect[${index}] ${expected.device}/${expected.rule}`] : [],
  );
}
