import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../../profiles/index.js';
import { ENGINE_SNAPSHOT_VERSION, type VerdictChange } from '../../../rules/src/index.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { addToRuns, type SeqRun } from '../ingest/seq-runs.js';
import { type AcceptedSeq, createSeqWindow, SEQ_WINDOW } from '../ingest/seq-window.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { loadRuleSetOrThrow } from '../rule-files/load-rule-files.js';
import { createProfileRuleEngine } from '../rule-files/profile-engine.js';
import { commitWithoutStore, createLaneCore } from './telemetry-lane.js';

const SECRET = 'sha256$c2FsdA==$aGFzaA==';
const config = validateConfig(
  {
    influx: { mode: 'off' },
    devices: [
      { id: 'dc-01', site: 'site-a', profile: 'dust-collector', secretHash: SECRET },
      { id: 'dc-02', site: 'site-b', profile: 'dust-collector', secretHash: SECRET },
    ],
  },
  '(test)',
);
const registry = createDeviceRegistry(config.devices);
const dc01 = registry.get('dc-01') as RegisteredDevice;
const dc02 = registry.get('dc-02') as RegisteredDevice;
const payload = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));
const T = Date.now();

/** A lane core of a cluster node, and the seq it reported to the shared store with each commit's rule state. */
function clusterLane() {
  const reported: AcceptedSeq[][] = [];
  const alarmChanges: VerdictChange[] = [];
  const core = createLaneCore({
    registry,
    profiles: PROFILES,
    engine: createProfileRuleEngine(PROFILES, loadRuleSetOrThrow(PROFILES, [])),
    seqWindow: createSeqWindow(),
    maxPayloadBytes: 65_536,
    timestamps: { maxAheadMs: 300_000, maxBehindMs: 86_400_000 },
    sink: null,
    commit: commitWithoutStore,
    clustered: true,
    reloadRules: () => ({ result: { ok: true, files: [], changedAlarms: 0 }, changes: [] }),
    outlet: {
      alarmChanges: (changes) => alarmChanges.push(...changes),
      readingStored: () => undefined,
      engineChanged: (_changes, accepted) => reported.push([...accepted]),
    },
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
  });
  return { core, reported, alarmChanges };
}

describe('a cluster node knows the readings the last owner of a site judged (the contract: a duplicate also across a failover)', () => {
  it('a reading the last owner accepted, sent again to the next owner, is a duplicate; a restarted counter with new times is not', () => {
    const { core } = clusterLane();
    core.ownSites(['site-a'], T, [
      {
        site: 'site-a',
        snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices: [], groups: [] },
        downMs: 0,
        seen: [['dc-01', [[41, 42, T - 10_000, T - 5_000]]]],
      },
    ]);
    expect(core.judge(dc01, payload({ ts: T - 5_000, seq: 42, metrics: { hopper_temp: 40 } }), T)).toEqual({
      accepted: 0,
      rejections: [{ reason: 'duplicate', detail: 'seq 42 already received' }],
    });
    expect(core.judge(dc01, payload({ ts: T - 1_000, seq: 41, metrics: { hopper_temp: 40 } }), T)).toEqual({ accepted: 1, rejections: [] });
    expect(core.judge(dc01, payload({ ts: T, seq: 43, metrics: { hopper_temp: 40 } }), T)).toEqual({ accepted: 1, rejections: [] });
  });

  it('each commit reports the seq it accepted of sites this node owns, with their device times, to go with the rule state', () => {
    const { core, reported } = clusterLane();
    core.ownSites(['site-a'], T, []);
    reported.length = 0;
    core.judge(
      dc01,
      payload({
        readings: [
          { ts: T - 1_000, seq: 7, metrics: { hopper_temp: 40 } },
          { seq: 8, metrics: { hopper_temp: 41 } },
        ],
      }),
      T,
    );
    // a duplicate is not reported again; a reading without seq has nothing to report
    core.judge(dc01, payload({ ts: T - 1_000, seq: 7, metrics: { hopper_temp: 40 } }), T);
    core.judge(dc01, payload({ metrics: { hopper_temp: 42 } }), T);
    // site-b belongs to another node: its reading (forwarded while the sites moved) is not this node's to report
    core.judge(dc02, payload({ ts: T, seq: 9, metrics: { hopper_temp: 40 } }), T);
    // seq 8 came without a device time: not reported (across a failover its seq is judged again)
    expect(reported.flat()).toEqual([['dc-01', 'site-a', 7, T - 1_000]]);
  });

  it('a device without a clock that reboots after its site moved is heard: what one node reports is what the next is handed', () => {
    // the owner judges a clockless device's readings 0…199 and reports what it accepted (the shared store keeps runs of it)
    const owner = clusterLane();
    owner.core.ownSites(['site-a'], T, []);
    for (let seq = 0; seq < 200; seq += 1) owner.core.judge(dc01, payload({ seq, metrics: { hopper_temp: 40 + seq / 100 } }), T);
    const runs: SeqRun[] = [];
    for (const [, , seq, time] of owner.reported.flat()) addToRuns(runs, seq, time, SEQ_WINDOW);
    // the next owner is handed those runs; the device reboots and counts from 0 again, measuring on
    const next = clusterLane();
    next.core.ownSites(['site-a'], T, [
      { site: 'site-a', snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices: [], groups: [] }, downMs: 0, seen: [['dc-01', runs]] },
    ]);
    for (let seq = 0; seq < 20; seq += 1)
      expect(next.core.judge(dc01, payload({ seq, metrics: { hopper_temp: 45 + seq / 100 } }), T)).toEqual({ accepted: 1, rejections: [] });
  });
});

describe('a site taken over whose saved state holds a device since taken out of the registry', () => {
  it('retires it as a start would: its alarm clears, it is not judged silent', () => {
    // the last owner judged dc-old at site-a (hot); the registry here no longer has it
    const before = createProfileRuleEngine(PROFILES, loadRuleSetOrThrow(PROFILES, []));
    const old = { site: 'site-a', device: 'dc-old', profile: 'dust-collector', attributes: dc01.context.attributes };
    before.registerDevices([dc01.context, old], T - 60_000);
    const raised = before.onReading({ ...old, ts: T - 30_000, receivedAt: T - 30_000, metrics: { hopper_temp: 95 } }, old).changes;
    expect(raised.some((c) => c.key === 'site-a/dc-old/hopper_temp_high' && c.verdict.status === 'true')).toBe(true);
    const { core, alarmChanges } = clusterLane();
    core.ownSites(['site-a'], T, [{ site: 'site-a', snapshot: before.snapshot(), downMs: 0 }]);
    expect(alarmChanges.filter((c) => c.device === 'dc-old').map((c) => [c.rule, c.verdict.status])).toEqual([
      ['hopper_temp_high', 'false'],
    ]);
    alarmChanges.length = 0;
    core.tick(T + 7 * 86_400_000);
    expect(alarmChanges.filter((c) => c.device === 'dc-old')).toEqual([]);
  });
});
