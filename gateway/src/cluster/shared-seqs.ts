import type { SeenSeq } from '../ingest/seq-window.js';

/**
 * What the shared store keeps of each device's accepted `seq`, so that the node taking a site over knows the readings
 * its last owner judged: a device re-sending one that was judged and written but not acknowledged (its owner died in
 * between) gets the contract's answer, a duplicate, not a second judgement. Per device, a text of entries `seq:ts;`
 * (`ts` empty: the reading had no device time), oldest first, appended by each write and cut to its newest
 * SEQS_KEPT_BYTES at an entry's edge once it passes twice that.
 */

/** Bytes of entries kept per device after a cut: about 170–200 readings (entries of 20–24 bytes). */
export const SEQS_KEPT_BYTES = 4_096;

export const seqEntryOf = (seq: number, deviceTs: number | null): string => `${seq}:${deviceTs ?? ''};`;

/**
 * The entries of a device's text, oldest first. Anything that is not an entry (a text cut by an earlier version, a
 * damaged one) is skipped: at worst a re-sent reading is judged again, as it was before the store kept them.
 */
export function seenSeqsOf(device: string, text: string): SeenSeq[] {
  const seen: SeenSeq[] = [];
  for (const entry of text.split(';')) {
    const match = /^(\d+):([-+.e\d]*)$/.exec(entry);
    if (!match) continue;
    const seq = Number(match[1]);
    const ts = match[2] === '' ? null : Number(match[2]);
    if (Number.isSafeInteger(seq) && (ts === null || Number.isFinite(ts))) seen.push([device, seq, ts]);
  }
  return seen;
}

/**
 * Lua (inside the site's write script): appends `ARGV[i + 1]` to the device `ARGV[i]` of the hash `KEYS[k]`, cut as
 * above. The cut keeps what follows the first entry's end at or after SEQS_KEPT_BYTES from the end: whole entries only.
 */
export const appendSeqsLua = (hashKey: string): string => `
  local text = (redis.call('HGET', ${hashKey}, ARGV[i]) or '') .. ARGV[i + 1]
  if #text > ${2 * SEQS_KEPT_BYTES} then
    local edge = string.find(text, ';', #text - ${SEQS_KEPT_BYTES}, true)
    text = string.sub(text, edge + 1)
  end
  redis.call('HSET', ${hashKey}, ARGV[i], text)`;
