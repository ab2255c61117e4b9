import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRecorder } from './recorder.js';

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0);

describe('recorder: what devices publish, as NDJSON for backtests', () => {
  it('one line per publish in a folder it creates; payloads that are not UTF-8 as base64; all written once closed', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'recorder-')), 'new', 'folder', 'recording.ndjson');
    const recorder = createRecorder(path);
    recorder.record('sites/s/devices/d/telemetry', Buffer.from('{"metrics":{"hopper_temp":40}}'), 1000);
    recorder.record('sites/s/devices/d/telemetry', Buffer.from([0xff, 0x00, 0x7b]), 2000);
    await recorder.close();
    expect(lines(path).map((line) => JSON.parse(line))).toEqual([
      { topic: 'sites/s/devices/d/telemetry', payload: '{"metrics":{"hopper_temp":40}}', receivedAt: 1000 },
      { topic: 'sites/s/devices/d/telemetry', payload: '/wB7', encoding: 'base64', receivedAt: 2000 },
    ]);
  });

  it('appends to an existing recording', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'recorder-')), 'recording.ndjson');
    writeFileSync(path, '{"topic":"t","payload":"earlier","receivedAt":1}\n');
    const recorder = createRecorder(path);
    recorder.record('t', Buffer.from('later'), 2);
    await recorder.close();
    expect(lines(path)).toEqual(['{"topic":"t","payload":"earlier","receivedAt":1}', '{"topic":"t","payload":"later","receivedAt":2}']);
  });
});
