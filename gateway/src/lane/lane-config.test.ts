import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load-config.js';
import { laneConfigOf } from './build-lane-core.js';

describe('what the telemetry lane (a worker thread) is given of the configuration', () => {
  it('carries no API token, webhook secret or device secret, and everything the lane reads', () => {
    const config = validateConfig(
      {
        api: { tokens: [{ name: 'ops', role: 'admin', token: 'api-token-that-must-stay-0001' }] },
        webhooks: [
          { id: 'platform', url: 'https://example.org/hook', secrets: ['whsec_dGhpcy1pcy1hLXdlYmhvb2stc2VjcmV0LXRoYXQtc3RheXM='] },
        ],
        devices: [
          {
            id: 'dc-01',
            site: 'site-a',
            profile: 'dust-collector',
            secretHash: 'sha256$devicesalt$devicesecrethashthatstays',
            attributes: { reportingIntervalMs: 60000 },
          },
        ],
        influx: { mode: 'off' },
      },
      '(test)',
    );
    const lane = laneConfigOf(config);
    const text = JSON.stringify(lane);
    for (const secret of ['api-token-that-must-stay', 'whsec_', 'devicesecrethashthatstays']) expect(text).not.toContain(secret);
    const { secretHash: _, ...device } = config.devices[0] as (typeof config.devices)[number];
    expect(lane.devices).toEqual([device]);
    expect(lane.devices[0]?.attributes.reportingIntervalMs).toBe(60000);
    expect(lane.maxPayloadBytes).toBe(config.mqtt.maxPayloadBytes);
    expect(lane.store).toEqual(config.store);
  });
});

describe('where the lane runs (lane.thread)', () => {
  const threadOf = (raw: Record<string, unknown>) => validateConfig({ influx: { mode: 'off' }, ...raw }, '(test)').lane.thread;

  it('is a worker thread unless the file says main, under lane or its old name pipeline', () => {
    expect(threadOf({})).toBe('worker');
    expect(threadOf({ lane: { thread: 'main' } })).toBe('main');
    expect(threadOf({ pipeline: { thread: 'main' } })).toBe('main');
  });

  it('refuses both names at once, and an unknown thread, with the path', () => {
    expect(() => threadOf({ lane: { thread: 'main' }, pipeline: { thread: 'worker' } })).toThrow(/pipeline.*give lane only/s);
    expect(() => threadOf({ lane: { thread: 'gpu' } })).toThrow(/lane\.thread/);
  });
});
