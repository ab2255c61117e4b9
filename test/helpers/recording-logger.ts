import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../gateway/src/observability/logger.js';

/** A logger whose JSON lines are kept, as an operator reads them. */
export function recordingLogger<Line = Record<string, unknown>>(level = 'info'): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Line);
      done();
    },
  });
  return { log: createLogger(level, destination), lines };
}
