import type { SeqRun } from '../ingest/seq-runs.js';

/**
 * What the shared store keeps of each device's accepted `seq` (the site's `…:seqs` hash, a field per device): its
 * runs (ingest/seq-runs.ts) as JSON, `[[from, to, tsMin, tsMax], …]`, rewritten whole by each write that accepted
 * some (about 30–500 bytes a device).
 */
export const seqRunsText = (runs: readonly SeqRun[]): string => JSON.stringify(runs);

/** The runs of a device's field; what is not a run (a damaged or foreign value) is skipped. */
export function seqRunsOf(text: string): SeqRun[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (run): run is SeqRun =>
      Array.isArray(run) &&
      run.length === 4 &&
      run.every((n) => typeof n === 'number' && Number.isFinite(n)) &&
      Number.isSafeInteger(run[0]) &&
      Number.isSafeInteger(run[1]) &&
      run[0] <= run[1] &&
      run[2] <= run[3],
  );
}
