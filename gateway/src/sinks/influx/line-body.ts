/**
 * A piece of an InfluxDB write's body: one line of line protocol, or several joined by '\n' — as text, or as the
 * UTF-8 bytes a spool row is read as (never decoded into a string only to be encoded again for the request).
 */
export type LineChunk = string | Buffer;

/**
 * The chunks joined by '\n': text when every chunk is text; otherwise bytes, in one buffer the text chunks are
 * encoded straight into (for the 1.x writer a batch of rows is copied once, never decoded, joined and encoded again).
 */
export function lineBody(chunks: readonly LineChunk[]): string | Buffer {
  if (chunks.every((chunk) => typeof chunk === 'string')) return chunks.join('\n');
  let size = chunks.length - 1;
  for (const chunk of chunks) size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const [i, chunk] of chunks.entries()) {
    if (i > 0) body[at++] = 0x0a;
    if (typeof chunk === 'string') at += body.write(chunk, at);
    else {
      body.set(chunk, at);
      at += chunk.length;
    }
  }
  return body;
}
