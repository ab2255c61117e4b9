import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Records what devices publish as NDJSON lines `{topic, payload, receivedAt}` — the input of
 * `npm run backtest`. Appends through one buffered stream; payloads that are not UTF-8 are base64 with
 * `"encoding": "base64"`.
 */
export interface Recorder {
  record(topic: string, payload: Buffer, receivedAt: number): void;
  close(): Promise<void>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function createRecorder(path: string): Recorder {
  mkdirSync(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    record(topic, payload, receivedAt) {
      let line: string;
      try {
        line = JSON.stringify({ topic, payload: utf8.decode(payload), receivedAt });
      } catch {
        line = JSON.stringify({ topic, payload: payload.toString('base64'), encoding: 'base64', receivedAt });
      }
      stream.write(`${line}\n`);
    },
    close: () => new Promise((resolve) => stream.end(() => resolve())),
  };
}
