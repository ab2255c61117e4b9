import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../../profiles/index.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { createDeviceStatusBook } from '../devices/device-status.js';
import { createIngestService, type PublishDecision } from '../ingest/ingest-service.js';
import { createQuarantine } from '../ingest/quarantine.js';
import { createSeqWindow } from '../ingest/seq-window.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { loadRuleSetOrThrow } from '../rule-files/load-rule-files.js';
import { createProfileRuleEngine } from '../rule-files/profile-engine.js';
import { commitWithoutStore, createLaneCore } from './telemetry-lane.js';

const config = validateConfig(
  {
    influx: { mode: 'off' },
    devices: [{ id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: 'sha256$c2FsdA==$aGFzaA==' }],
  },
  '(test)',
);
const registry = createDeviceRegistry(config.devices);
const device = registry.get('dc-01') as RegisteredDevice;
const log = createLogger('silent');
const payload = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));

/** A seq window that fails on one sequence number: a fault inside judging, as a bug anywhere there would be. */
function faultySeqWindow(poisonSeq: number) {
  const real = createSeqWindow();
  return {
    accept(id: string, seq: number, ts: number | null) {
      if (seq === poisonSeq) throw new TypeError('boom in the seq window');
      return real.accept(id, seq, ts);
    },
    adopt: real.adopt,
  };
}

function laneCore() {
  return createLaneCore({
    registry,
    profiles: PROFILES,
    engine: createProfileRuleEngine(PROFILES, loadRuleSetOrThrow(PROFILES, [])),
    seqWindow: faultySeqWindow(13),
    maxPayloadBytes: 65_536,
    timestamps: { maxAheadMs: 300_000, maxBehindMs: 86_400_000 },
    sink: null,
    commit: commitWithoutStore,
    reloadRules: () => ({ result: { ok: true, files: [], changedAlarms: 0 }, changes: [] }),
    outlet: { alarmChanges: () => undefined, readingStored: () => undefined },
    metrics: createGatewayMetrics({ processMetrics: false }),
    log,
  });
}

describe('a fault while judging one payload is that payload’s rejection, never an exit', () => {
  it('in the lane: the payload gets `internal` with the error, the same payload again gets the same answer, others go on', () => {
    const core = laneCore();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const verdict = core.judge(device, payload({ seq: 13, metrics: { hopper_temp: 40 } }), Date.now());
      expect(verdict).toEqual({
        accepted: 0,
        rejections: [{ reason: 'internal', detail: expect.stringContaining('TypeError: boom in the seq window') }],
      });
    }
    expect(core.judge(device, payload({ seq: 14, metrics: { hopper_temp: 41 } }), Date.now())).toEqual({ accepted: 1, rejections: [] });
  });

  it('on the broker side: a lane that throws gets the publish acknowledged and dropped, quarantined as `internal`, counted', async () => {
    const metrics = createGatewayMetrics({ processMetrics: false });
    const quarantine = createQuarantine({ size: 10, perDevice: 10 });
    let throwing = true;
    const ingest = createIngestService({
      registry,
      labMode: { allow: [], deny: [] },
      lane: {
        submit(_device, _payload, _at, decided) {
          if (throwing) throw new RangeError('lane exploded');
          decided({ accepted: 1, rejections: [] });
        },
      },
      quarantine,
      deviceStatus: createDeviceStatusBook(),
      metrics,
      log,
    });
    const decisions: PublishDecision[] = [];
    const publish = {
      session: { kind: 'device' as const, device },
      clientId: 'dc-01',
      topic: device.topicPrefix + 'telemetry',
      payload: payload({ metrics: { hopper_temp: 40 } }),
      receivedAt: Date.now(),
    };
    ingest.handlePublish(publish, (decision) => decisions.push(decision));
    throwing = false;
    ingest.handlePublish(publish, (decision) => decisions.push(decision));
    expect(decisions).toEqual(['drop', 'accept']);
    expect(quarantine.list({})).toEqual([
      expect.objectContaining({ reason: 'internal', device: 'dc-01', detail: expect.stringContaining('RangeError: lane exploded') }),
    ]);
    const counted = await metrics.rejections.get();
    expect(counted.values).toEqual([expect.objectContaining({ labels: { reason: 'internal' }, value: 1 })]);
  });
});
