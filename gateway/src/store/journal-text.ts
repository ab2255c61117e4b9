import type { DeviceHold, MetricValue, Reading } from '../../../rules/src/index.js';
import { lastNamesMemo } from '../ingest/metric-names-memo.js';

/** What moved the engine in one commit whose devices were not all saved: replayed, in order, at start. */
export interface JournalEntry {
  /** Readings the engine took, in order. */
  readings?: readonly Reading[];
  /** Holds the engine was given (`held`), before that commit's tick. */
  held?: readonly DeviceHold[];
  /** The commit's time (ms): the gateway was alive then. */
  at?: number;
}

/** A reading in a row's text: site, device, profile, ts, receivedAt, seq, its metric names' index, the values. */
type ReadingRow = [string, string, string, number, number | null, number | null, number, ...MetricValue[]];

/** An entry in a row's text: its id is the row's plus its place in the row. */
interface EntryText {
  r?: ReadingRow[];
  held?: readonly DeviceHold[];
}

/**
 * A journal row's text: the entries of one lane commit (`e`), each reading's fields in a fixed order and its metrics
 * as values after the index of their names, each list of names once per row (`k`). As JSON objects, an entry a batch,
 * every field and metric name came again with every reading (about 320 bytes a dust collector's reading against 110
 * here), and a commit of many batches wrote a row each: the journal was the largest table in a steady trickle's
 * commits after the de-duplication window.
 */
interface RowText {
  k: string[][];
  e: EntryText[];
  /** The latest of the entries' times (the gateway was alive then): each entry reads it back. */
  at?: number;
}

/** The text of a row of entries whose ids follow each other (the first is the row's id), in order. */
export function journalRowText(entries: readonly JournalEntry[]): string {
  const names: string[][] = [];
  const indexOf = new Map<string, number>();
  const indexOfNames = lastNamesMemo((keys) => {
    const joined = JSON.stringify(keys);
    let index = indexOf.get(joined);
    if (index === undefined) {
      index = names.length;
      names.push(keys);
      indexOf.set(joined, index);
    }
    return index;
  });
  const asRow = (reading: Reading): ReadingRow => {
    const keys = Object.keys(reading.metrics);
    const index = indexOfNames(keys);
    const row: ReadingRow = [
      reading.site,
      reading.device,
      reading.profile,
      reading.ts,
      reading.receivedAt ?? null,
      reading.seq ?? null,
      index,
    ];
    for (const key of keys) row.push(reading.metrics[key] as MetricValue);
    return row;
  };
  let at: number | undefined;
  const e = entries.map((entry): EntryText => {
    const text: EntryText = {};
    if (entry.readings) text.r = entry.readings.map(asRow);
    if (entry.held) text.held = entry.held;
    if (entry.at !== undefined) at = at === undefined ? entry.at : Math.max(at, entry.at);
    return text;
  });
  const row: RowText = { k: names, e };
  if (at !== undefined) row.at = at;
  return JSON.stringify(row);
}

/** The entries of a journal row; a row of a gateway before schema 13 is one entry, its readings as objects, its id the row's. */
export function journalEntriesOf(rowId: number, text: string): Array<{ id: number; entry: JournalEntry }> {
  const parsed = JSON.parse(text) as RowText | JournalEntry;
  if (!('e' in parsed)) return [{ id: rowId, entry: parsed }];
  return parsed.e.map(({ r, held }, i) => {
    const entry: JournalEntry = {};
    if (r) entry.readings = r.map((row) => readingOf(row, parsed.k));
    if (held) entry.held = held;
    if (parsed.at !== undefined) entry.at = parsed.at;
    return { id: rowId + i, entry };
  });
}

function readingOf([site, device, profile, ts, receivedAt, seq, index, ...values]: ReadingRow, names: string[][]): Reading {
  const metrics: Record<string, MetricValue> = Object.fromEntries((names[index] ?? []).map((key, i) => [key, values[i] as MetricValue]));
  const reading: Reading = { site, device, profile, ts, metrics };
  if (receivedAt !== null) reading.receivedAt = receivedAt;
  if (seq !== null) reading.seq = seq;
  return reading;
}
