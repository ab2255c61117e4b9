/**
 * Consecutive `seq` a device's accepted readings carried, with the least and the greatest time they were remembered
 * with (`seqTimeOf`). A few runs describe what a device sent in a few numbers, whatever its rate: what a cluster keeps
 * in the shared store so that the node taking a site over knows which readings were judged already.
 */
export type SeqRun = [from: number, to: number, tsMin: number, tsMax: number];

/** Runs kept per device (the newest): a restart, a backlog after live data and a gap each start one. */
export const SEQ_RUNS_KEPT = 16;

/**
 * Adds an accepted `seq` to the runs (in place): the newest run goes on when it follows it, else a new one starts. A
 * run holds at most `reach` numbers (a window's), then the next starts one of its own: each run's times are those of
 * its own numbers.
 */
export function addToRuns(runs: SeqRun[], seq: number, ts: number, reach: number): void {
  const last = runs[runs.length - 1];
  if (last !== undefined && seq === last[1] + 1 && last[1] - last[0] + 1 < reach) {
    last[1] = seq;
    if (ts < last[2]) last[2] = ts;
    if (ts > last[3]) last[3] = ts;
    return;
  }
  runs.push([seq, seq, ts, ts]);
  if (runs.length > SEQ_RUNS_KEPT) runs.splice(0, runs.length - SEQ_RUNS_KEPT);
}

/**
 * Whether a reading is among the runs: its `seq` in one and its time within that run's times. A restarted counter's
 * readings come with newer times and are not; a redelivery comes with its own and is. (Readings without a device
 * time are remembered with codes spread over all negative numbers: for them the `seq` alone decides.)
 */
export function inRuns(runs: readonly SeqRun[], seq: number, ts: number): boolean {
  for (const [from, to, tsMin, tsMax] of runs) if (seq >= from && seq <= to && ts >= tsMin && ts <= tsMax) return true;
  return false;
}
