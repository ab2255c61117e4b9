import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { startTestGateway } from './helpers/test-gateway.js';

describe('record telemetry, then backtest a candidate rule set against it', () => {
  it('records what devices publish and prints how a candidate rule set would have alarmed differently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-backtest-'));
    const recording = join(dir, 'recording.ndjson');
    const gateway = await startTestGateway({ overrides: { influx: { mode: 'off' }, recording: { enabled: true, path: recording } } });
    const device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    const start = Date.parse('2026-11-22T06:00:00Z');
    // A hopper that warms slowly to 65 °C and cools again, one reading every 10 minutes.
    const temps = [40, 45, 50, 55, 58, 62, 65, 62, 55, 45, 40];
    for (const [i, t] of temps.entries())
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: start + i * 600_000, seq: i, metrics: { hopper_temp: t } });
    await device.endAsync();
    await gateway.close();

    const lines = readFileSync(recording, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(temps.length);
    expect(lines[0]).toMatchObject({ topic: 'sites/site-a/devices/dc-01/telemetry' });
    expect(JSON.parse(lines[6].payload).metrics.hopper_temp).toBe(65);

    // The candidate lowers the yellow level from 60 to 52 °C.
    const current = readFileSync('profiles/dust-collector/rules.yaml', 'utf8');
    const candidatePath = join(dir, 'candidate.yaml');
    const candidate = current.replace(/yellow: \{ raise: 60, clear: 58 \}/, 'yellow: { raise: 52, clear: 50 }');
    expect(candidate).not.toBe(current);
    writeFileSync(candidatePath, candidate);
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'gateway/src/cli/backtest.ts',
        recording,
        '--current',
        'profiles/dust-collector/rules.yaml',
        '--candidate',
        candidatePath,
        '--json',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    const hopper = report.differences.filter((d: { key: string }) => d.key === 'site-a/dc-01/hopper_temp_high');
    expect(hopper).toHaveLength(1);
    expect(hopper[0].type).toBe('timing');
    // Raised two readings (20 min) earlier: at 55 °C instead of 62 °C.
    expect(hopper[0].raisedDeltaMs).toBe(-20 * 60_000);
  });
});
