import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmMirror } from '../../gateway/src/cluster/alarm-mirror.js';
import { createSiteReplica, type SiteReplica, TAKE_SITE } from '../../gateway/src/cluster/site-replica.js';
import type { AcceptedSeq } from '../../gateway/src/ingest/seq-window.js';
import { createLogger, type Logger } from '../../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../../gateway/src/observability/metrics.js';
import {
  type AlarmEvent,
  type AlarmTransition,
  createAlarmBook,
  ENGINE_SNAPSHOT_VERSION,
  type EngineChanges,
  type VerdictChange,
} from '../../rules/src/index.js';
import { type Step, toChange } from '../../rules/test-support/inhibition-steps.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const PREFIX = 'replica-test:';

const hot = (site: string, at: number, severity: 'yellow' | 'red' | null): VerdictChange => ({
  key: `${site}/d/hot`,
  site,
  device: 'd',
  profile: 'p',
  rule: 'hot',
  source: 'test',
  at,
  verdict:
    severity === null
      ? { status: 'false' }
      : { status: 'true', severity, metric: 't', value: 70, threshold: 60, unit: null, message: 'hot' },
});

/** The rule state of one device of `site` as a lane commit reports it. */
const deviceMoved = (site: string, lastTs: number): EngineChanges => ({
  devices: [
    {
      key: `${site}/d`,
      state: { context: { site, device: 'd', profile: 'p', attributes: {} }, latest: { t: 70 }, lastTs, rules: [] },
    },
  ],
  sites: [],
});

let events = 0;
const eventOf = (transition: AlarmTransition): AlarmEvent => ({
  type: transition.type,
  id: `evt_${++events}`,
  timestamp: new Date(transition.at).toISOString(),
  data: { alarm: transition.alarm },
});

/** A node's replica with its own alarm book, and what it released and was fenced out of. */
function node(redis: PrivateRedis, incarnation: string, log: Logger = createLogger('silent'), maxClosed?: number) {
  const book = createAlarmBook({ newAlarmId: () => `alm_${incarnation}_${++events}` });
  const released: AlarmEvent[] = [];
  const recovered: AlarmEvent[] = [];
  const fenced: string[] = [];
  const metrics = createGatewayMetrics({ processMetrics: false });
  const replica: SiteReplica = createSiteReplica({
    redisUrl: redis.url,
    keyPrefix: PREFIX,
    incarnation,
    memberTimeout: 2_000,
    shared: (site) => site.startsWith('s'),
    book,
    onFenced: (site) => fenced.push(site),
    metrics,
    log,
    ...(maxClosed === undefined ? {} : { maxClosed }),
  });
  // an outbox that delivers at once: each event is handed on as soon as it is released
  replica.onReleased((event) => {
    released.push(event);
    replica.handedOn(event);
  });
  replica.onRecovered((event) => {
    recovered.push(event);
    replica.handedOn(event);
  });
  /** Applies a verdict change to the book and hands its events to the replica, as the gateway does. */
  const apply = (change: VerdictChange): AlarmEvent[] => {
    const out = book.apply(change).map(eventOf);
    for (const event of out) replica.alarmEvent(event);
    return out;
  };
  return { book, replica, released, recovered, fenced, metrics, apply };
}

/** Steps of a node's book on `site` (one a ms) and what each changed of the inhibition, handed to its replica as the alarm service does. */
function inhibitionSteps(n: ReturnType<typeof node>, site: string): (device: string, rule: string, status: Step['status']) => void {
  let at = 0;
  return (device, rule, status) => {
    at += 1;
    n.apply(toChange({ site, device, rule, status, metric: 'x' }, at));
    const changes = n.book.inhibition.takeChanges();
    if (changes) n.replica.inhibitionChanged(changes);
  };
}

/** Takes the sites once the replica's connection is back (Redis just started again), trying for 5 s. */
async function takenOnceBack(replica: SiteReplica, sites: string[]): Promise<void> {
  for (let i = 0; ; i += 1) {
    try {
      await replica.take(sites);
      return;
    } catch (error) {
      if (i === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Whether what the replica holds is written within 5 s (Redis just started again: its connection comes back). */
async function settledOnceBack(replica: SiteReplica): Promise<boolean> {
  for (let i = 0; i < 50; i += 1) {
    if (await replica.settled()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('the shared site state on Redis: written before anything leaves the owner, fenced, taken over (issue 16)', () => {
  let redis: PrivateRedis;
  const nodes: Array<ReturnType<typeof node>> = [];
  const started = async (incarnation: string, log?: Logger, maxClosed?: number) => {
    const n = node(redis, incarnation, log, maxClosed);
    await n.replica.start();
    nodes.push(n);
    return n;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    for (const n of nodes) n.replica.close();
    await redis?.dispose();
  });

  it('an alarm event leaves the owner only once its alarm is written; the next owner takes the site over with it and the rule state', async () => {
    const a = await started('gw-a@1');
    expect(await a.replica.take(['s1'])).toEqual([
      {
        site: 's1',
        snapshot: { version: ENGINE_SNAPSHOT_VERSION, devices: [], groups: [] },
        alarms: { alarms: [], history: [], flaps: [], shelves: [], inhibition: { inhibitors: [], held: [] } },
        seen: [],
        downMs: 0,
      },
    ]);
    a.replica.engineChanged(deviceMoved('s1', 1_000));
    const [raised] = a.apply(hot('s1', 1_000, 'yellow'));
    expect(a.released).toEqual([]); // not before the write
    expect(await a.replica.settled()).toBe(true);
    expect(a.released).toEqual([raised]);

    const b = await started('gw-b@1');
    const [taken] = await b.replica.take(['s1']);
    expect(taken?.snapshot.devices.map((d) => [d.context.device, d.lastTs])).toEqual([['d', 1_000]]);
    expect(taken?.alarms.alarms.map((alarm) => [alarm.id, alarm.seq, alarm.state])).toEqual([[raised?.data.alarm.id, 1, 'active']]);
    expect(taken?.alarms.history[0]?.[1].map((step) => step.type)).toEqual(['alarm.raised']);
    // the last owner is a live one (never seen lapsed): a hand-over, no time spent down; it handed its events on itself
    expect(taken?.downMs).toBe(0);
    expect(b.recovered).toEqual([]);
  });

  it('the seq of the readings its owner judged go with a site as runs; a write that failed is put back', async () => {
    const a = await started('gw-a@14');
    await a.replica.take(['s14']);
    a.replica.engineChanged(deviceMoved('s14', 1_000), [
      ['d', 's14', 1, 1_000],
      ['d', 's14', 2, 2_000],
      ['e', 's14', 7, 5_000],
    ]);
    expect(await a.replica.settled()).toBe(true);
    await redis.stop();
    a.replica.engineChanged(deviceMoved('s14', 3_000), [['d', 's14', 3, 3_000]]);
    expect(await a.replica.settled()).toBe(false);
    await redis.start();
    // the next write names only e: d's run comes from the write put back
    a.replica.engineChanged(deviceMoved('s14', 4_000), [['e', 's14', 8, 6_000]]);
    expect(await settledOnceBack(a.replica)).toBe(true);
    const [taken] = await (await started('gw-b@14')).replica.take(['s14']);
    expect(new Map(taken?.seen)).toEqual(
      new Map([
        ['d', [[1, 3, 1_000, 3_000]]],
        ['e', [[7, 8, 5_000, 6_000]]],
      ]),
    );
  });

  it("a device's seq are kept as a few runs: a long backlog is a run per window, a restarted counter starts another; the next owner goes on from them", async () => {
    const a = await started('gw-a@15');
    await a.replica.take(['s15']);
    const T = 1_700_000_000_000;
    const backlog: AcceptedSeq[] = Array.from({ length: 5_000 }, (_, i) => ['d', 's15', 1_000 + i, T + 5_000 * i]);
    for (let i = 0; i < backlog.length; i += 500) {
      a.replica.engineChanged(deviceMoved('s15', i), backlog.slice(i, i + 500));
      expect(await a.replica.settled()).toBe(true);
    }
    // rebooted: counts from 0 again, with newer times
    const later = T + 5_000 * 6_000;
    a.replica.engineChanged(deviceMoved('s15', 9_000), [
      ['d', 's15', 0, later],
      ['d', 's15', 1, later + 5_000],
    ]);
    expect(await a.replica.settled()).toBe(true);
    const direct = new Redis(redis.url);
    expect(await direct.hstrlen(`${PREFIX}site:s15:seqs`, 'd')).toBeLessThan(200);
    direct.disconnect();
    const b = await started('gw-b@15');
    const [taken] = await b.replica.take(['s15']);
    // the backlog in runs of a window's 4,096 numbers each, with their own times
    const second = T + 5_000 * 4_096;
    expect(taken?.seen).toEqual([
      [
        'd',
        [
          [1_000, 5_095, T, second - 5_000],
          [5_096, 5_999, second, T + 5_000 * 4_999],
          [0, 1, later, later + 5_000],
        ],
      ],
    ]);
    // b goes on from them: its next write keeps both runs and extends the newest
    b.replica.engineChanged(deviceMoved('s15', 10_000), [['d', 's15', 2, later + 10_000]]);
    expect(await b.replica.settled()).toBe(true);
    const [again] = await (await started('gw-c@15')).replica.take(['s15']);
    expect(again?.seen[0]?.[1]).toEqual([
      [1_000, 5_095, T, second - 5_000],
      [5_096, 5_999, second, T + 5_000 * 4_999],
      [0, 2, later, later + 10_000],
    ]);
  });

  it("a site's maintenance windows go with it: the next owner takes those on, an ended one is gone from the shared store", async () => {
    const a = await started('gw-a@5');
    await a.replica.take(['s5', 's6']);
    const window = { scope: 'site', reason: 'relining', by: 'op', from: 0, until: 60_000, holdsRed: false } as const;
    a.book.shelving.shelve({ ...window, id: 'shf_a', site: 's5' }, 0);
    a.book.shelving.shelve({ ...window, id: 'shf_b', site: 's5' }, 0);
    a.book.shelving.shelve({ ...window, id: 'shf_c', site: 's6' }, 0);
    a.replica.shelvesChanged(a.book.shelving.takeChanged());
    expect(await a.replica.settled()).toBe(true);
    a.book.shelving.end('shf_b', 'op', null, 1_000);
    a.replica.shelvesChanged(a.book.shelving.takeChanged());
    expect(await a.replica.settled()).toBe(true);

    const b = await started('gw-b@5');
    const taken = await b.replica.take(['s5', 's6']);
    expect(taken.map((site) => [site.site, site.alarms.shelves?.map((shelf) => [shelf.id, shelf.endedAt])])).toEqual([
      ['s5', [['shf_a', null]]],
      ['s6', [['shf_c', null]]],
    ]);
  });

  it("a site's inhibition state goes with it: what its inhibitors hold when it is taken, row by row, whatever one write ended and set", async () => {
    const a = await started('gw-a@7');
    await a.replica.take(['s7']);
    const step = inhibitionSteps(a, 's7');
    step('d1', 'device_silent', 'true');
    step('d1', 'temp_high', 'true'); // held behind d1's silence
    step('d2', 'device_silent', 'true');
    step('d2', 'level_low', 'true'); // held behind d2's
    expect(await a.replica.settled()).toBe(true);
    // within one write: d1 back (its held change released and applied) and silent again, d2 back for good, d3 silent
    // and back, d2's level held again behind the site's power off
    step('d1', 'device_silent', 'false');
    step('d1', 'device_silent', 'true');
    step('d2', 'device_silent', 'false');
    step('d3', 'device_silent', 'true');
    step('d3', 'device_silent', 'false');
    step('d2', 'power_off', 'true');
    step('d2', 'temp_high', 'true');
    expect(await a.replica.settled()).toBe(true);

    const [taken] = await (await started('gw-b@7')).replica.take(['s7']);
    // in the order the book has them (d1's silence, set again, after d2's at the time)
    let held = a.book.inhibition.snapshot();
    expect(taken?.alarms.inhibition?.inhibitors).toEqual(held.inhibitors);
    expect(taken?.alarms.inhibition?.held.map((h) => [h.change, h.metric])).toEqual(
      held.latent.map(([key, change]) => [change, new Map(held.heldMetrics).get(key)]),
    );
    expect(taken?.alarms.inhibition?.inhibitors.map((i) => i.key)).toEqual(['s7/d1/device_silent', 's7/d2/power_off']);
    expect(taken?.alarms.inhibition?.held.map((h) => h.change.key)).toEqual(['s7/d2/temp_high']);

    // a plant's worth of silent devices (Redis no longer keeps a hash in the order its fields came): still in order
    await a.replica.take(['s7']); // back to a (b only read it)
    for (let i = 0; i < 300; i += 1) step(`m${i}`, 'device_silent', 'true');
    for (let i = 0; i < 300; i += 1) step(`m${i}`, 'temp_high', 'true');
    step('d1', 'device_silent', 'true'); // set again, not ended: keeps its place
    expect(await a.replica.settled()).toBe(true);
    const [again] = await (await started('gw-c@7')).replica.take(['s7']);
    held = a.book.inhibition.snapshot();
    expect(again?.alarms.inhibition?.inhibitors.map((i) => i.key)).toEqual(held.inhibitors.map((i) => i.key));
    expect(again?.alarms.inhibition?.held.map((h) => h.change.key)).toEqual(held.latent.map(([key]) => key));
    expect(again?.alarms.inhibition?.inhibitors[0]?.key).toBe('s7/d1/device_silent');
  });

  it('a node whose site was taken cannot write it: its verdicts are refused, its events dropped, it is told to let the site go', async () => {
    const a = await started('gw-a@2');
    const b = await started('gw-b@2');
    await a.replica.take(['s2']);
    a.apply(hot('s2', 1_000, 'yellow'));
    expect(await a.replica.settled()).toBe(true);
    await b.replica.take(['s2']);
    // a still thinks it owns s2 (its view is a heartbeat late): what it decides now must not land
    a.replica.engineChanged(deviceMoved('s2', 9_999));
    const late = a.apply(hot('s2', 2_000, 'red'));
    expect(late.map((e) => e.type)).toEqual(['alarm.escalated']);
    expect(await a.replica.settled()).toBe(false);
    expect(a.fenced).toEqual(['s2']);
    expect(a.released.map((e) => e.type)).toEqual(['alarm.raised']);
    expect(await a.metrics.registry.getSingleMetricAsString('gateway_cluster_site_writes_total')).toContain('outcome="fenced"} 1');
    // the shared state is still what a wrote before the take: b goes on from there
    const [again] = await started('gw-c@2').then((c) => c.replica.take(['s2']));
    expect(again?.alarms.alarms.map((alarm) => [alarm.seq, alarm.severity])).toEqual([[1, 'yellow']]);
    expect(again?.snapshot.devices).toEqual([]);
  });

  it('Redis away: nothing is acknowledged or delivered; once back, what was staged is written and the held events go, in order, once', async () => {
    const a = await started('gw-a@3');
    await a.replica.take(['s3']);
    await redis.stop();
    const first = a.apply(hot('s3', 1_000, 'yellow'));
    expect(await a.replica.settled()).toBe(false);
    const second = a.apply(hot('s3', 2_000, 'red'));
    expect(await a.replica.settled()).toBe(false);
    expect(a.released).toEqual([]);
    await redis.start();
    expect(await settledOnceBack(a.replica)).toBe(true);
    expect(a.released).toEqual([...first, ...second]);
    const [taken] = await (await started('gw-b@3')).replica.take(['s3']);
    expect(taken?.alarms.alarms.map((alarm) => [alarm.seq, alarm.severity])).toEqual([[2, 'red']]);
  });

  it('Redis away: a site whose writes keep failing is logged once, and once more when its writes go through again', async () => {
    const { lines, log } = recordingLogger<{ msg: string; site?: string; failures?: number }>();
    const a = await started('gw-a@18', log);
    await a.replica.take(['s18']);
    await redis.stop();
    for (let at = 1; at <= 4; at += 1) {
      a.replica.engineChanged(deviceMoved('s18', at * 1_000));
      expect(await a.replica.settled()).toBe(false);
    }
    await redis.start();
    expect(await settledOnceBack(a.replica)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    const told = lines.filter((line) => line.site === 's18' && line.msg !== 'site taken over').map((line) => line.msg);
    expect(told).toEqual(['shared store write failed', 'shared store write restored']);
    expect(lines.find((line) => line.msg === 'shared store write restored')?.failures).toBeGreaterThanOrEqual(4);
  });

  it('a site that moved away during an outage and came back: its next outage is said again', async () => {
    const { lines, log } = recordingLogger<{ msg: string; site?: string }>();
    const failures = () => lines.filter((line) => line.site === 's19' && line.msg === 'shared store write failed').length;
    const a = await started('gw-a@19', log);
    await a.replica.take(['s19']);
    await redis.stop();
    a.replica.engineChanged(deviceMoved('s19', 1_000));
    expect(await a.replica.settled()).toBe(false);
    await redis.start();
    // b took the site meanwhile (a was gone from the cluster): a's write is never restored, it is void
    await (await started('gw-b@19')).replica.take(['s19']);
    for (
      let i = 0;
      i < 50 && (await a.replica.settled()) === false && lines.every((line) => line.msg !== 'site taken by another node');
      i += 1
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    // a takes it back (once its connection is back); Redis goes away again
    await takenOnceBack(a.replica, ['s19']);
    expect(failures()).toBe(1);
    await redis.stop();
    a.replica.engineChanged(deviceMoved('s19', 2_000));
    expect(await a.replica.settled()).toBe(false);
    await redis.start();
    expect(failures()).toBe(2);
    expect(await settledOnceBack(a.replica)).toBe(true);
  });

  it('what a node decided of a site and could not write is void once it takes the site again (another owned it meanwhile)', async () => {
    const a = await started('gw-a@8');
    await a.replica.take(['s8']);
    await redis.stop();
    a.apply(hot('s8', 1_000, 'yellow'));
    a.replica.engineChanged(deviceMoved('s8', 1_000));
    expect(await a.replica.settled()).toBe(false); // kept, to try again
    await redis.start();
    await (await started('gw-b@8')).replica.take(['s8']); // a was gone from the cluster: b owned s8 meanwhile
    // a is back and takes it again, with what b left (once its connection is back)
    await takenOnceBack(a.replica, ['s8']);
    expect(await a.replica.settled()).toBe(true);
    const [taken] = await (await started('gw-c@8')).replica.take(['s8']);
    expect(taken?.alarms.alarms).toEqual([]);
    expect(taken?.snapshot.devices).toEqual([]);
    expect(a.released).toEqual([]);
  });

  it('Redis away across several steps of inhibition: once back, the rows are as the book has them, in its order', async () => {
    const a = await started('gw-a@9');
    await a.replica.take(['s9']);
    const step = inhibitionSteps(a, 's9');
    await redis.stop();
    step('d1', 'device_silent', 'true');
    step('d1', 'temp_high', 'true');
    step('d2', 'device_silent', 'true');
    expect(await a.replica.settled()).toBe(false);
    step('d3', 'device_silent', 'true');
    step('d1', 'device_silent', 'false'); // d1 back: its temperature released
    step('d1', 'device_silent', 'true'); // and silent again: after d3
    step('d2', 'level_low', 'true');
    expect(await a.replica.settled()).toBe(false);
    step('d2', 'device_silent', 'true'); // set again, not ended: keeps its place
    await redis.start();
    expect(await settledOnceBack(a.replica)).toBe(true);
    const [taken] = await (await started('gw-b@9')).replica.take(['s9']);
    const held = a.book.inhibition.snapshot();
    expect(held.inhibitors.map((i) => i.key)).toEqual(['s9/d2/device_silent', 's9/d3/device_silent', 's9/d1/device_silent']);
    expect(taken?.alarms.inhibition?.inhibitors).toEqual(held.inhibitors);
    expect(taken?.alarms.inhibition?.held.map((h) => h.change)).toEqual(held.latent.map(([, change]) => change));
  });

  it('steps taken while a write is on its way and fails: put back behind them, the rows keep the order the book has', async () => {
    const a = await started('gw-a@10');
    await a.replica.take(['s10']);
    const step = inhibitionSteps(a, 's10');
    await redis.stop();
    step('d1', 'device_silent', 'true');
    step('d1', 'temp_high', 'true');
    const onItsWay = a.replica.settled();
    await Promise.resolve(); // the write has left with d1's rows
    step('d2', 'device_silent', 'true');
    step('d2', 'temp_high', 'true');
    step('d1', 'temp_high', 'false'); // d1's held change replaced: it keeps its place, before d2's
    expect(await onItsWay).toBe(false);
    await redis.start();
    expect(await settledOnceBack(a.replica)).toBe(true);
    const [taken] = await (await started('gw-b@10')).replica.take(['s10']);
    const held = a.book.inhibition.snapshot();
    expect(held.latent.map(([key]) => key)).toEqual(['s10/d1/temp_high', 's10/d2/temp_high']);
    expect(taken?.alarms.inhibition?.held.map((h) => h.change)).toEqual(held.latent.map(([, change]) => change));
    expect(taken?.alarms.inhibition?.inhibitors).toEqual(held.inhibitors);
  });

  it('Redis lost its data: the site claimed again gets its inhibition rows whole, in the order the book has them', async () => {
    const a = await started('gw-a@11');
    await a.replica.take(['s11']);
    const step = inhibitionSteps(a, 's11');
    for (const device of ['d1', 'd2']) {
      step(device, 'device_silent', 'true');
      step(device, 'temp_high', 'true');
    }
    expect(await a.replica.settled()).toBe(true);
    const direct = new Redis(redis.url);
    await direct.flushall();
    direct.disconnect();
    step('d2', 'temp_high', 'false'); // the write that finds the site gone holds d2's row alone
    await a.replica.settled();
    expect(await a.replica.settled()).toBe(true); // the claim's whole rows
    const [taken] = await (await started('gw-b@11')).replica.take(['s11']);
    const held = a.book.inhibition.snapshot();
    expect(taken?.alarms.inhibition?.held.map((h) => h.change.key)).toEqual(['s11/d1/temp_high', 's11/d2/temp_high']);
    expect(taken?.alarms.inhibition?.held.map((h) => h.change)).toEqual(held.latent.map(([, change]) => change));
    expect(taken?.alarms.inhibition?.inhibitors).toEqual(held.inhibitors);
  });

  it('settled(site) says whether that site went through: another site fenced in the same write is not its answer', async () => {
    const a = await started('gw-a@12');
    await a.replica.take(['s12', 's13']);
    await (await started('gw-b@12')).replica.take(['s13']);
    a.apply(hot('s12', 1_000, 'yellow'));
    a.apply(hot('s13', 1_000, 'yellow'));
    const [all, mine, fenced] = await Promise.all([a.replica.settled(), a.replica.settled('s12'), a.replica.settled('s13')]);
    expect([all, mine, fenced]).toEqual([false, true, false]);
    // taken again before what was staged of it left: that is void, and whoever waits for it is told so (a reading is
    // sent again; what goes on is the state the take read)
    a.apply(hot('s12', 2_000, 'red'));
    const waiting = a.replica.settled('s12');
    await a.replica.take(['s12']);
    expect(await waiting).toBe(false);
    expect(await a.replica.settled('s12')).toBe(true);
  });

  it('an inhibitor row without a place (not written by this version) is taken, after the placed ones', async () => {
    const a = await started('gw-a@14');
    await a.replica.take(['s14']);
    a.apply(toChange({ site: 's14', device: 'd1', rule: 'device_silent', status: 'true', metric: 'x' }, 1));
    a.replica.inhibitionChanged(a.book.inhibition.takeChanges() ?? expect.unreachable());
    expect(await a.replica.settled()).toBe(true);
    const [placed] = a.book.inhibition.inhibitors();
    const plain = { ...placed, key: 's14/d0/device_silent', device: 'd0', since: 0 };
    const direct = new Redis(redis.url);
    await direct.hset(`${PREFIX}site:s14:inhibitors`, plain.key, JSON.stringify(plain));
    direct.disconnect();
    const [taken] = await (await started('gw-b@14')).replica.take(['s14']);
    expect(taken?.alarms.inhibition?.inhibitors.map((i) => i.key)).toEqual(['s14/d1/device_silent', 's14/d0/device_silent']);
  });

  it('a resolved alarm leaves the shared store; the time since a dead owner was last seen is time spent down', async () => {
    const a = await started('gw-a@4');
    await a.replica.take(['s4']);
    const [raised] = a.apply(hot('s4', 1_000, 'yellow'));
    a.apply(hot('s4', 2_000, null));
    const id = raised?.data.alarm.id as string;
    for (const step of [a.book.resolve(id, 'op', null, 3_000)]) if (step.ok) a.replica.alarmEvent(eventOf(step.transition));
    expect(await a.replica.settled()).toBe(true);
    expect(a.released.map((e) => e.type)).toEqual(['alarm.raised', 'alarm.cleared', 'alarm.resolved']);
    // a's last heartbeat was 10 s ago (the membership script keeps it): it is dead
    const direct = new Redis(redis.url);
    const [seconds] = await direct.time();
    await direct.hset(`${PREFIX}member-seen`, 'gw-a@4', String(Number(seconds) * 1_000 - 10_000));
    direct.disconnect();
    const [taken] = await (await started('gw-b@4')).replica.take(['s4']);
    expect(taken?.alarms.alarms).toEqual([]);
    expect(taken?.downMs).toBeGreaterThanOrEqual(9_000);
    expect(taken?.downMs).toBeLessThan(20_000);
  });

  it('a resolved alarm, its disposal record and history, stays in the cluster: a node started after every node restarted lists it; the newest kept', async () => {
    const prefix = 'closed-test:';
    const a = node(redis, 'gw-a@30', createLogger('silent'), 2);
    // its own prefix: what other tests resolved is not counted here
    const replica = createSiteReplica({
      redisUrl: redis.url,
      keyPrefix: prefix,
      incarnation: 'gw-a@30',
      memberTimeout: 2_000,
      shared: () => true,
      book: a.book,
      onFenced: () => undefined,
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
      maxClosed: 2,
    });
    await replica.start();
    replica.onReleased((event) => replica.handedOn(event));
    await replica.take(['s30']);
    const disposal = { cause: 'bearing overheated', measures: 'bearing replaced', responsible: 'Zhang Wei' };
    const ids: string[] = [];
    for (const [i, at] of [10_000, 20_000, 30_000].entries()) {
      const [raised] = a.book.apply(hot('s30', at, 'yellow')).map(eventOf);
      for (const event of [raised as AlarmEvent, ...a.book.apply(hot('s30', at + 1_000, null)).map(eventOf)]) replica.alarmEvent(event);
      const id = raised?.data.alarm.id as string;
      ids.push(id);
      const step = a.book.resolve(id, `op-${i}`, null, at + 2_000, disposal);
      if (step.ok) replica.alarmEvent(eventOf(step.transition));
      expect(await replica.settled()).toBe(true);
    }
    replica.close();
    // every node restarts: a new one's mirror knows the resolved alarms from the shared store alone
    const mirror = createAlarmMirror({
      redisUrl: redis.url,
      keyPrefix: prefix,
      incarnation: 'gw-c@30',
      maxClosed: 100,
      log: createLogger('silent'),
    });
    await mirror.start(['s30']);
    try {
      // the two resolved last (the bound is 2), with who resolved them, the disposal record and the history
      expect([...mirror.all()].map((alarm) => [alarm.id, alarm.resolved, alarm.resolvedBy]).sort()).toEqual([
        [ids[1], true, 'op-1'],
        [ids[2], true, 'op-2'],
      ]);
      expect(mirror.get(ids[2] as string)?.disposal).toEqual(disposal);
      const history = mirror.history(ids[2] as string).map((step) => step.type);
      expect([history[0], history.at(-1)]).toEqual(['alarm.raised', 'alarm.resolved']);
    } finally {
      mirror.close();
    }
  });

  it('a site whose take fails does not undo the others: they are taken, their events handed on once; it is tried again', async () => {
    const direct = new Redis(redis.url);
    await direct.set(`${PREFIX}site:s51:engine`, 'not a hash'); // its script fails (WRONGTYPE)
    const b = await started('gw-b@50');
    const taken = await b.replica.take(['s50', 's51']);
    expect(taken.map((site) => site.site)).toEqual(['s50']);
    await expect(b.replica.take(['s51'])).rejects.toThrow(/WRONGTYPE/);
    await direct.del(`${PREFIX}site:s51:engine`);
    expect((await b.replica.take(['s51'])).map((site) => site.site)).toEqual(['s51']);

    // a dead owner's site taken, and taken again by the same node (its first answer lost to a timeout after an
    // outage, though the script ran): the second take still counts the dead owner's time down, not none
    const [seconds] = await direct.time();
    await direct.hset(`${PREFIX}member-seen`, 'gw-a@52', String(Number(seconds) * 1_000 - 10_000));
    await direct.set(`${PREFIX}site:s52:owner`, 'gw-a@52');
    // the script runs, its answer never reaches the node
    const keysOf52 = ['owner', 'engine', 'alarms', 'unsent', 'shelves', 'inhibitors', 'held', 'seqs'].map((k) => `${PREFIX}site:s52:${k}`);
    await direct.eval(TAKE_SITE, 10, ...keysOf52, `${PREFIX}member-seen`, `${PREFIX}site:s52:took`, 'gw-b@50', '2000');
    expect(await direct.get(`${PREFIX}site:s52:owner`)).toBe('gw-b@50');
    const [retried] = await b.replica.take(['s52']);
    expect(retried?.downMs).toBeGreaterThanOrEqual(9_000);
    // answered this time: a later take by the same node is one of its own, the dead owner's time not counted again
    const [later] = await b.replica.take(['s52']);
    expect(later?.downMs).toBe(0);
    direct.disconnect();
  });

  it('a write after the book let go of a site stores its alarms as the released events tell (the next owner goes on from there); one resolved leaves', async () => {
    const a = await started('gw-a@16');
    await a.replica.take(['s16', 's17']);
    const [open] = a.apply(hot('s16', 1_000, 'yellow'));
    const [resolvedRaise] = a.apply(hot('s17', 1_000, 'yellow'));
    a.apply(hot('s17', 2_000, null));
    expect(await a.replica.settled()).toBe(true);
    // s16 escalates and s17's alarm is resolved; both sites leave this node's book before the write goes out
    const [escalated] = a.apply(hot('s16', 3_000, 'red'));
    const resolved = a.book.resolve(resolvedRaise?.data.alarm.id as string, 'op', null, 3_000);
    if (resolved.ok) a.replica.alarmEvent(eventOf(resolved.transition));
    a.book.forgetSites(['s16', 's17']);
    expect(await a.replica.settled()).toBe(true);
    const taken = await (await started('gw-b@16')).replica.take(['s16', 's17']);
    // the escalation was released (seq 2, red): the store has the alarm at that seq, not the yellow before it
    expect(a.released.at(-2)).toEqual(escalated);
    expect(taken.find((site) => site.site === 's16')?.alarms.alarms.map((alarm) => [alarm.id, alarm.seq, alarm.severity])).toEqual([
      [open?.data.alarm.id, 2, 'red'],
    ]);
    expect(taken.find((site) => site.site === 's17')?.alarms.alarms).toEqual([]);
  });

  it('Redis lost its data (restarted empty): the owner claims its site again and writes its open alarms whole, nothing is refused', async () => {
    const a = await started('gw-a@5');
    await a.replica.take(['s5']);
    const [first] = a.apply(hot('s5', 1_000, 'yellow'));
    const [second] = a.apply({ ...hot('s5', 1_000, 'yellow'), key: 's5/e/hot', device: 'e' });
    expect(await a.replica.settled()).toBe(true);
    const direct = new Redis(redis.url);
    await direct.flushall();
    direct.disconnect();
    // only the first alarm changes: the second, open too, is written again with it
    const escalated = a.apply(hot('s5', 2_000, 'red'));
    expect(await a.replica.settled()).toBe(true);
    expect(a.fenced).toEqual([]);
    expect(a.released.map((e) => e.id)).toContain(escalated[0]?.id);
    expect(await a.replica.settled()).toBe(true);
    const [taken] = await (await started('gw-b@5')).replica.take(['s5']);
    expect(taken?.alarms.alarms.map((alarm) => [alarm.id, alarm.seq, alarm.severity]).sort()).toEqual(
      [
        [first?.data.alarm.id, 2, 'red'],
        [second?.data.alarm.id, 1, 'yellow'],
      ].sort(),
    );
  });

  it('an owner that dies after its write but before its events reach its outbox: the next owner hands them on, with their ids, in order', async () => {
    const a = await started('gw-a@6');
    await a.replica.take(['s6']);
    // a dies the moment its events are released: what it would have cleared in Redis after that stays
    a.replica.onReleased(() => a.replica.close());
    const raised = a.apply(hot('s6', 1_000, 'yellow'));
    const escalated = a.apply(hot('s6', 2_000, 'red'));
    expect(await a.replica.settled()).toBe(true);
    const b = await started('gw-b@6');
    const [taken] = await b.replica.take(['s6']);
    expect(taken?.alarms.alarms.map((alarm) => alarm.seq)).toEqual([2]);
    expect(b.recovered.map((e) => [e.id, e.type])).toEqual([...raised, ...escalated].map((e) => [e.id, e.type]));
    // handed on once: a third node taking the site later finds nothing left to hand on
    const c = await started('gw-c@6');
    await c.replica.take(['s6']);
    expect(c.recovered).toEqual([]);
  });
});
