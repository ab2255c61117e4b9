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
