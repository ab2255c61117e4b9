import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { TooLargePublish } from '../broker/connection-guard.js';
import type { ClientSession } from '../broker/session.js';
import { validateConfig } from '../config/load-config.js';
import { createDeviceRegistry, type RegisteredDevice } from '../devices/device-registry.js';
import { createDeviceStatusBook } from '../devices/device-status.js';
import type { LaneVerdict } from '../lane/telemetry-lane.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createIngestService, type PublishDecision } from './ingest-service.js';
import { createQuarantine, type QuarantineKeep } from './quarantine.js';

const SECRET_HASH = 'sha256$c2FsdA==$aGFzaA==';
const registryOf = (devices: Array<{ id: string; site: string }>) =>
  createDeviceRegistry(
    validateConfig(
      { influx: { mode: 'off' }, devices: devices.map((d) => ({ ...d, profile: 'dust-collector', secretHash: SECRET_HASH })) },
      '(test)',
    ).devices,
  );
const registry = registryOf([
  { id: 'dc-01', site: 'site-a' },
  { id: 'dc-02', site: 'site-a' },
]);
const dc01 = registry.get('dc-01') as RegisteredDevice;
/** Devices the gateway's registry does not hold (removed by a reload while connected, or moved to another site). */
const strangers = registryOf([
  { id: 'ghost', site: 'site-a' },
  { id: 'dc-01', site: 'site-b' },
]);
const AT = Date.UTC(2026, 11, 3, 9, 30);
const TELEMETRY = 'sites/site-a/devices/dc-01/telemetry';
const STATUS = 'sites/site-a/devices/dc-01/status';

/** An ingest service as the gateway wires it, with a lane that answers `verdict` (or acts as `submit` says). */
function service(
  options: {
    verdict?: LaneVerdict;
    submit?: (decided: (verdict: LaneVerdict) => void) => void;
    labAllow?: string[];
    keep?: QuarantineKeep;
  } = {},
) {
  const metrics = createGatewayMetrics({ processMetrics: false });
  const keepFailures: string[] = [];
  const quarantine = createQuarantine({ size: 50, perDevice: 50 }, options.keep, (error, entry) =>
    keepFailures.push(`${entry.reason}: ${(error as Error).message}`),
  );
  const deviceStatus = createDeviceStatusBook();
  const submitted: Array<{ device: string; payload: string; receivedAt: number }> = [];
  const recorded: Array<{ topic: string; payload: string; receivedAt: number }> = [];
  const logLines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const ingest = createIngestService({
    registry,
    labMode: { allow: options.labAllow ?? ['lab/#', 'sandbox/+'], deny: ['lab/secret/#', 'sandbox/private'] },
    lane: {
      submit(device, payload, receivedAt, decided) {
        submitted.push({ device: device.id, payload: payload.toString(), receivedAt });
        if (options.submit) options.submit(decided);
        else decided(options.verdict ?? { accepted: 1, rejections: [] });
      },
    },
    quarantine,
    deviceStatus,
    metrics,
    log: createLogger('debug', sink),
    recorder: {
      record: (topic, payload, receivedAt) => recorded.push({ topic, payload: payload.toString(), receivedAt }),
      close: async () => undefined,
    },
  });
  const publish = (
    session: ClientSession,
    topic: string,
    payload = '{"metrics":{"hopper_temp":40}}',
    clientId: string | null = 'dc-01',
    tooLarge?: TooLargePublish,
  ) => {
    const decisions: PublishDecision[] = [];
    ingest.handlePublish(
      { session, clientId, topic, payload: Buffer.from(payload), receivedAt: AT, ...(tooLarge ? { tooLarge } : {}) },
      (decision) => decisions.push(decision),
    );
    return decisions;
  };
  const counted = async (metric: 'rejections' | 'messagesReceived' | 'mqttAclDenied') =>
    Object.fromEntries((await metrics[metric].get()).values.map((v) => [Object.values(v.labels).join(','), v.value]));
  return { ingest, publish, quarantine, deviceStatus, submitted, recorded, counted, logLines, keepFailures };
}

const device = (d: RegisteredDevice): ClientSession => ({ kind: 'device', device: d });
const LAB: ClientSession = { kind: 'lab' };

describe('ingest service: what happens to each PUBLISH', () => {
  it('a device’s telemetry goes to the lane as received, is recorded, and is acknowledged when a reading is accepted', async () => {
    const s = service({ verdict: { accepted: 1, rejections: [] } });
    expect(s.publish(device(dc01), TELEMETRY)).toEqual(['accept']);
    expect(s.submitted).toEqual([{ device: 'dc-01', payload: '{"metrics":{"hopper_temp":40}}', receivedAt: AT }]);
    expect(s.recorded).toEqual([{ topic: TELEMETRY, payload: '{"metrics":{"hopper_temp":40}}', receivedAt: AT }]);
    expect(await s.counted('messagesReceived')).toEqual({ telemetry: 1 });
    expect(await s.counted('rejections')).toEqual({});
    expect(s.quarantine.size).toBe(0);
  });

  it('the lane’s rejections are counted, quarantined with the device and its site, and shown per device; none accepted: dropped', async () => {
    const s = service({
      verdict: {
        accepted: 0,
        rejections: [
          { reason: 'duplicate', detail: 'seq 5 already received' },
          { reason: 'future_timestamp', detail: 'seq 6: too far ahead' },
        ],
      },
    });
    expect(s.publish(device(dc01), TELEMETRY, '{"readings":[]}', 'dc-01:backlog')).toEqual(['drop']);
    expect(await s.counted('rejections')).toEqual({ duplicate: 1, future_timestamp: 1 });
    expect(s.deviceStatus.get('dc-01').rejections).toEqual({ duplicate: 1, future_timestamp: 1 });
    expect(s.quarantine.list({})).toEqual([
      {
        at: '2026-12-03T09:30:00.000Z',
        reason: 'future_timestamp',
        detail: 'seq 6: too far ahead',
        topic: TELEMETRY,
        clientId: 'dc-01:backlog',
        site: 'site-a',
        device: 'dc-01',
        payloadBytes: 15,
        payload: '{"readings":[]}',
        payloadEncoding: 'utf8',
        truncated: false,
      },
      expect.objectContaining({ reason: 'duplicate', detail: 'seq 5 already received', device: 'dc-01' }),
    ]);
    expect(s.logLines).toContainEqual(
      expect.objectContaining({
        msg: 'payload rejected',
        device: 'dc-01',
        reason: 'duplicate',
        detail: 'seq 5 already received',
        topic: TELEMETRY,
      }),
    );
  });

  it('a backlog sent again after a lost PUBACK: each refused reading counted, the payload kept once per reason', async () => {
    const rejections = Array.from({ length: 1_000 }, (_, seq) => ({ reason: 'duplicate' as const, detail: `seq ${seq} already received` }));
    const s = service({ verdict: { accepted: 0, rejections: [...rejections, { reason: 'type', detail: 'readings[3].metrics.x: bad' }] } });
    expect(s.publish(device(dc01), TELEMETRY, '{"readings":[]}')).toEqual(['drop']);
    expect(await s.counted('rejections')).toEqual({ duplicate: 1_000, type: 1 });
    expect(s.deviceStatus.get('dc-01').rejections).toEqual({ duplicate: 1_000, type: 1 });
    expect(s.quarantine.list({}).map((e) => [e.reason, e.detail])).toEqual([
      ['type', 'readings[3].metrics.x: bad'],
      ['duplicate', 'seq 0 already received (and 999 more readings of this payload)'],
    ]);
  });

  it('a quarantine its store cannot write (disk full): every rejection still answered and counted, shown until a restart, told', async () => {
    const keep: QuarantineKeep = {
      load: () => [],
      add: () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      },
      forget: () => undefined,
    };
    const s = service({ keep, verdict: { accepted: 0, rejections: [{ reason: 'duplicate', detail: 'seq 5 already received' }] } });
    expect(s.publish(device(dc01), TELEMETRY)).toEqual(['drop']);
    expect(s.publish(device(dc01), 'sites/site-a/devices/dc-02/telemetry')).toEqual(['drop']);
    expect(await s.counted('rejections')).toEqual({ duplicate: 1, forbidden: 1 });
    expect(s.quarantine.list({}).map((entry) => entry.reason)).toEqual(['forbidden', 'duplicate']);
    expect(s.keepFailures).toEqual([
      'duplicate: SQLITE_FULL: database or disk is full',
      'forbidden: SQLITE_FULL: database or disk is full',
    ]);
  });

  it('some readings of a backlog accepted and some refused: acknowledged, the refused ones quarantined', async () => {
    const s = service({ verdict: { accepted: 1, rejections: [{ reason: 'duplicate', detail: 'seq 1 already received' }] } });
    expect(s.publish(device(dc01), TELEMETRY)).toEqual(['accept']);
    expect(s.quarantine.list({}).map((e) => e.reason)).toEqual(['duplicate']);
  });

  it('a lane that cannot judge (its worker died): no acknowledgement, nothing quarantined', async () => {
    const s = service({ verdict: { accepted: 0, rejections: [], unavailable: true } });
    expect(s.publish(device(dc01), TELEMETRY)).toEqual(['unavailable']);
    expect(s.quarantine.size).toBe(0);
    expect(await s.counted('rejections')).toEqual({});
  });

  it('a lane that answers later: the decision waits for it, once', () => {
    let later: ((verdict: LaneVerdict) => void) | undefined;
    const s = service({
      submit: (decided) => {
        later = decided;
      },
    });
    const decisions = s.publish(device(dc01), TELEMETRY);
    expect(decisions).toEqual([]);
    later?.({ accepted: 1, rejections: [] });
    later?.({ accepted: 0, rejections: [] });
    expect(decisions).toEqual(['accept']);
  });

  it('a fault after the lane answered: the answer stands, the fault is quarantined as internal', async () => {
    const s = service({
      submit: (decided) => {
        decided({ accepted: 1, rejections: [] });
        throw new Error('after the answer');
      },
    });
    expect(s.publish(device(dc01), TELEMETRY)).toEqual(['accept']);
    expect(s.quarantine.list({})).toEqual([
      expect.objectContaining({
        reason: 'internal',
        device: 'dc-01',
        site: 'site-a',
        detail: 'the gateway failed while judging this payload (Error: after the answer); it is kept here and was not stored',
      }),
    ]);
    expect(s.deviceStatus.get('dc-01').rejections).toEqual({ internal: 1 });
    expect(s.logLines).toContainEqual(expect.objectContaining({ level: 50, msg: 'payload judgement failed', device: 'dc-01' }));
  });

  it('a fault in the broker’s answer to a lab client: quarantined as internal without a device, logged under device unknown', async () => {
    const s = service();
    const decisions: string[] = [];
    s.ingest.handlePublish(
      { session: LAB, clientId: 'lab-1', topic: 'lab/echo', payload: Buffer.from('hi'), receivedAt: AT },
      (decision) => {
        decisions.push(decision);
        throw new Error('broker callback failed');
      },
    );
    expect(decisions).toEqual(['accept']);
    expect(s.quarantine.list({})).toEqual([
      expect.objectContaining({ reason: 'internal', device: null, site: null, clientId: 'lab-1', topic: 'lab/echo' }),
    ]);
    expect(s.logLines).toContainEqual(expect.objectContaining({ level: 50, msg: 'payload judgement failed', device: 'unknown' }));
  });

  it('the device’s status topic: "online" or "offline" reported, anything else refused as schema', async () => {
    const s = service();
    expect(s.publish(device(dc01), STATUS, 'offline')).toEqual(['accept']);
    expect(s.deviceStatus.get('dc-01')).toMatchObject({ reported: 'offline', lastSeen: AT });
    expect(s.publish(device(dc01), STATUS, 'online\n')).toEqual(['accept']);
    expect(s.deviceStatus.get('dc-01').reported).toBe('online');
    expect(s.publish(device(dc01), STATUS, '"offline"')).toEqual(['drop']);
    expect(s.deviceStatus.get('dc-01').reported).toBe('online');
    expect(s.quarantine.list({})).toEqual([
      expect.objectContaining({
        reason: 'schema',
        detail: 'status payload must be "online" or "offline"',
        device: 'dc-01',
        site: 'site-a',
      }),
    ]);
    expect(s.submitted).toEqual([]);
    expect(s.recorded).toEqual([]);
    expect(await s.counted('messagesReceived')).toEqual({ status: 3 });
  });

  it('forbidden: a device publishing outside its own topics, counted as an ACL denial, nothing passed on', async () => {
    const s = service();
    expect(s.publish(device(dc01), 'sites/site-a/devices/dc-02/telemetry')).toEqual(['drop']);
    expect(s.publish(device(dc01), 'elsewhere/x')).toEqual(['drop']);
    expect(s.quarantine.list({})).toEqual([
      expect.objectContaining({
        reason: 'forbidden',
        detail: 'dc-01 may publish only under sites/site-a/devices/dc-01/',
        topic: 'elsewhere/x',
      }),
      expect.objectContaining({
        reason: 'forbidden',
        topic: 'sites/site-a/devices/dc-02/telemetry',
        device: 'dc-01',
        site: 'site-a',
      }),
    ]);
    expect(s.deviceStatus.get('dc-01').rejections).toEqual({ forbidden: 2 });
    expect(s.deviceStatus.get('dc-02').rejections).toEqual({});
    expect(await s.counted('mqttAclDenied')).toEqual({ publish: 2 });
    expect(await s.counted('messagesReceived')).toEqual({});
    expect(s.submitted).toEqual([]);
  });

  it('topic: a device’s own topic that is neither telemetry nor status', async () => {
    const s = service();
    for (const topic of [
      'sites/site-a/devices/dc-01/telemetry/extra',
      'sites/site-a/devices/dc-01/config',
      'sites/site-a/devices/dc-01/',
    ]) {
      expect(s.publish(device(dc01), topic), topic).toEqual(['drop']);
    }
    expect(s.quarantine.list({}).map((e) => [e.reason, e.detail, e.device, e.site])).toEqual([
      ['topic', 'expected sites/{site}/devices/{device}/telemetry or …/status, got sites/site-a/devices/dc-01/', 'dc-01', 'site-a'],
      ['topic', 'expected sites/{site}/devices/{device}/telemetry or …/status, got sites/site-a/devices/dc-01/config', 'dc-01', 'site-a'],
      [
        'topic',
        'expected sites/{site}/devices/{device}/telemetry or …/status, got sites/site-a/devices/dc-01/telemetry/extra',
        'dc-01',
        'site-a',
      ],
    ]);
    expect(await s.counted('messagesReceived')).toEqual({ telemetry: 3 });
    expect(await s.counted('mqttAclDenied')).toEqual({});
    expect(s.submitted).toEqual([]);
  });

  it('unknown_device: a topic naming a device the registry does not hold, or holds at another site', async () => {
    const s = service();
    const ghost = strangers.get('ghost') as RegisteredDevice;
    const moved = strangers.get('dc-01') as RegisteredDevice;
    expect(s.publish(device(ghost), 'sites/site-a/devices/ghost/telemetry')).toEqual(['drop']);
    expect(s.publish(device(moved), 'sites/site-b/devices/dc-01/status', 'online')).toEqual(['drop']);
    expect(s.quarantine.list({}).map((e) => [e.reason, e.detail, e.device, e.site])).toEqual([
      ['unknown_device', 'no device dc-01 at site site-b in the registry', null, 'site-b'],
      ['unknown_device', 'no device ghost at site site-a in the registry', null, 'site-a'],
    ]);
    expect(s.deviceStatus.get('dc-01')).toMatchObject({ reported: null, rejections: {} });
    expect(await s.counted('messagesReceived')).toEqual({ telemetry: 1, status: 1 });
    expect(s.submitted).toEqual([]);
  });

  it('lab mode: its allowed topics pass untouched (not counted as device messages), the rest is forbidden, sites/ always', async () => {
    const s = service();
    expect(s.publish(LAB, 'lab/echo', 'hello', 'lab-1')).toEqual(['accept']);
    expect(s.publish(LAB, 'sandbox/x', 'hello', 'lab-1')).toEqual(['accept']);
    expect(s.quarantine.size).toBe(0);
    for (const topic of ['elsewhere/x', 'sandbox/x/y', 'lab/secret/key', 'sandbox/private', 'sites', TELEMETRY]) {
      expect(s.publish(LAB, topic, 'hello', 'lab-1'), topic).toEqual(['drop']);
    }
    expect(s.quarantine.list({}).map((e) => [e.reason, e.detail, e.device, e.site, e.clientId])).toEqual([
      ['forbidden', `lab mode does not allow publishing to ${TELEMETRY}`, null, 'site-a', 'lab-1'],
      ['forbidden', 'lab mode does not allow publishing to sites', null, null, 'lab-1'],
      ['forbidden', 'lab mode does not allow publishing to sandbox/private', null, null, 'lab-1'],
      ['forbidden', 'lab mode does not allow publishing to lab/secret/key', null, null, 'lab-1'],
      ['forbidden', 'lab mode does not allow publishing to sandbox/x/y', null, null, 'lab-1'],
      ['forbidden', 'lab mode does not allow publishing to elsewhere/x', null, null, 'lab-1'],
    ]);
    expect(await s.counted('mqttAclDenied')).toEqual({ publish: 6 });
    expect(await s.counted('rejections')).toEqual({ forbidden: 6 });
    expect(await s.counted('messagesReceived')).toEqual({});
    expect(s.submitted).toEqual([]);
    expect(s.recorded).toEqual([]);
  });

  it('a packet read past for its size is refused as too_large, never judged nor routed on: a device’s, and a lab client’s', async () => {
    const s = service();
    const tooLarge = { bytes: 2_000_000, limit: 1_048_576 };
    expect(s.publish(device(dc01), TELEMETRY, '{"metrics":{"hop', 'dc-01', tooLarge)).toEqual(['drop']);
    expect(s.publish(LAB, 'lab/echo', 'first bytes', 'lab-1', tooLarge)).toEqual(['drop']);
    // a topic refused anyway says so first
    expect(s.publish(LAB, 'elsewhere/x', 'first bytes', 'lab-1', tooLarge)).toEqual(['drop']);
    const detail = 'packet of 2000000 bytes > limit of 1048576 (mqtt.maxPacketBytes): read past, its first';
    expect(s.quarantine.list({}).map((e) => [e.reason, e.detail, e.device, e.clientId])).toEqual([
      ['forbidden', 'lab mode does not allow publishing to elsewhere/x', null, 'lab-1'],
      ['too_large', `${detail} 11 bytes kept`, null, 'lab-1'],
      ['too_large', `${detail} 16 bytes kept`, 'dc-01', 'dc-01'],
    ]);
    expect(s.deviceStatus.get('dc-01').rejections).toEqual({ too_large: 1 });
    // the device's packet was received all the same; a lab client's are not device messages
    expect(await s.counted('messagesReceived')).toEqual({ telemetry: 1 });
    expect(s.submitted).toEqual([]);
    expect(s.recorded).toEqual([]);
  });

  it('lab mode allowing every topic still keeps lab clients out of sites/', async () => {
    const s = service({ labAllow: ['#'] });
    expect(s.publish(LAB, 'anything/at/all', 'x', 'lab-1')).toEqual(['accept']);
    expect(s.publish(LAB, 'sites', 'x', 'lab-1')).toEqual(['drop']);
    expect(s.publish(LAB, 'sites/site-a/devices/dc-01/status', 'online', 'lab-1')).toEqual(['drop']);
    expect(s.publish(LAB, 'lab/secret/x', 'x', 'lab-1')).toEqual(['drop']);
    expect(s.quarantine.list({}).map((e) => e.topic)).toEqual(['lab/secret/x', 'sites/site-a/devices/dc-01/status', 'sites']);
    expect(s.deviceStatus.get('dc-01').reported).toBeNull();
  });
});
