/**
 * A step of the host's wall clock smaller than this is not one (NTP slews by 0.5 ms a second at most; a tick is
 * never late by seconds on one clock and not the other: both go on while the event loop is held).
 */
export const CLOCK_STEP_MS = 2_000;

/**
 * Watches the wall clock against the monotonic one: the difference of their advances since the last look is a step
 * of the wall clock — NTP setting it, an operator's `date -s`, a virtual machine resumed (the monotonic clock stands
 * still while it is paused). The rule engine's timers run on the wall clock (alarms carry its times): each step
 * found is handed to them so that no time passes for the rules (`RuleEngine.shiftClock`).
 */
export function createClockSteps(clocks: { wall: () => number; monotonic: () => number }): (wall: number) => number {
  let lastWall = clocks.wall();
  let lastMonotonic = clocks.monotonic();
  return (wall) => {
    const monotonic = clocks.monotonic();
    const step = wall - lastWall - (monotonic - lastMonotonic);
    lastWall = wall;
    lastMonotonic = monotonic;
    return Math.abs(step) >= CLOCK_STEP_MS ? Math.round(step) : 0;
  };
}
