/**
 * A piece of an InfluxDB write's body: one line of line protocol, or several joined by '\n' — as text, or as the
 * UTF-8 bytes a spool row is read as (never decoded into a string only to be encoded again for the request).
 */
export type LineChunk = string | Buffer;

const NEWLINE = Buffer.from('\n');

/**
 * The chunks joined by '\n': text when every chunk is text, bytes otherwise (one copy of a batch of rows; sent in
 * parts instead, one write each, the drain from the spool measured slower: BENCHMARKS.md, session 17).
 */
export function lineBody(chunks: readonly LineChunk[]): string | Buffer {
  if (chunks.every((chunk) => typeof chunk === 'string')) return chunks.join('\n');
  const parts: Buffer[] = [];
  for (const chunk of chunks) {
    if (parts.length > 0) parts.push(NEWLINE);
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(parts);
}
