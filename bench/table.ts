/** One row of the benchmark table. */
export interface Row {
  section: string;
  measure: string;
  result: string;
  goal: string;
  status: string;
}

const COLUMNS: Array<[keyof Row, string]> = [
  ['section', '#'],
  ['measure', 'measure'],
  ['result', 'result (median)'],
  ['goal', 'goal'],
  ['status', 'status'],
];

/** A Markdown table, padded so it also reads well in a terminal (and pastes into BENCHMARKS.md). */
export function renderTable(rows: readonly Row[]): string {
  const widths = COLUMNS.map(([key, title]) => Math.max(title.length, ...rows.map((row) => row[key].length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ')} |`;
  return [
    line(COLUMNS.map(([, title]) => title)),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((row) => line(COLUMNS.map(([key]) => row[key]))),
  ].join('\n');
}
