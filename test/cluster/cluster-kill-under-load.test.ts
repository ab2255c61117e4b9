import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  expectDeliveredAsRecorded,
  FORWARD_TIMEOUT,
  get,
  HEARTBEAT,
  loadDevice,
  MEMBER_TIMEOUT,
  openAlarmIdsByKey,
  readingLedger,
  seqGaps,
  sleep,
  untilDrained,
  webhookLedger,
} from '../helpers/cluster-load.js';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from '../helpers/gateway-process.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { listenToAlarmStream, type SseListener } from '../helpers/sse-listener.js';
import { eventually, freshDatabase, type TestDevice, TOKENS } from '../helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('cluster-kill-load-secret-32-byte').toString('base64')}`;
const NODES = ['gw-a', 'gw-b', 'gw-c'] as const;
/** A kill -9 is noticed within memberTimeout plus a heartbeat; the margin is for this shared, loaded 2-core machine. */
const TAKEOVER_BOUND = MEMBER_TIMEOUT + HEARTBEAT + 3_000;
/** Thirty devices on six sites, five a site; device i connects to node i % 3, so each site has devices on every node. */
const DEVICES: TestDevice[] = Array.from({ length: 30 }, (_, i) => ({
  id: `kl-${String(i + 1).padStart(2, '0')}`,
  site: `site-${Math.floor(i / 5) + 1}`,
  profile: 'dust-collector',
  secret: `kill-load-secret-${i + 1}`,
}));
const homeOf = (index: number): string => NODES[index % NODES.length] as string;

describe('kill -9 of a node under QoS 1 load: its devices reconnect elsewhere, its sites move in bounded time, nothing acknowledged or alarmed is lost or doubled (issue 16)', () => {
  let redis: PrivateRedis | undefined;
  let receiver: WebhookReceiver | undefined;
  const nodes = new Map<string, GatewayProcess>();
  const configs = new Map<string, string>();
  const devices: Array<ReturnType<typeof loadDevice>> = [];
  const streams: SseListener[] = [];

  afterAll(async () => {
    for (const stream of streams) stream.close();
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all([...nodes.values()].map((running) => running.stop()));
    await receiver?.close();
    await redis?.dispose();
  }, 30_000);

  it('three nodes, 30 devices on 6 sites, the owner of some sites killed: every acknowledged reading stored once, every alarm transition delivered once in order, the sites taken over within memberTimeout + heartbeat', async () => {
    const database = freshDatabase();
    redis = await startPrivateRedis();
    receiver = await startWebhookReceiver(SECRET);
    const hooks = receiver;
    await Promise.all(
      NODES.map(async (id) => {
        const dir = mkdtempSync(join(tmpdir(), `gateway-kill-load-${id}-`));
        const config = await writeGatewayConfig(dir, DEVICES, [
          'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
          `influx: { mode: url, url: ${JSON.stringify(inject('influxUrl'))}, database: ${database}, flushInterval: 100ms }`,
          `cluster: { redis: { url: "${redis?.url}" }, nodeId: ${id}, heartbeat: ${HEARTBEAT}, memberTimeout: ${MEMBER_TIMEOUT}, forwardTimeout: ${FORWARD_TIMEOUT} }`,
          'webhooks:',
          `  - { id: platform, url: ${JSON.stringify(hooks.url)}, secrets: ["${SECRET}"] }`,
        ]);
        configs.set(id, config);
        nodes.set(id, await startGatewayProcess(config, { timeoutMs: 45_000 }));
      }),
    );
    const node = (id: string): GatewayProcess => nodes.get(id) as GatewayProcess;
    const owners = await eventually(
      'every node sees three members',
      async () => {
        const views = await Promise.all(NODES.map((id) => get(node(id), '/api/cluster')));
        return views.every((view) => view.members.length === 3) ? (views[0].owners as Record<string, string>) : undefined;
      },
      20_000,
    );
    // the victim: the node that owns the most sites (it has devices connected too: every node has ten)
    const sitesOf = (id: string): string[] => Object.keys(owners).filter((site) => owners[site] === id);
    const victim = [...NODES].sort((a, b) => sitesOf(b).length - sitesOf(a).length)[0] as string;
    const moved = sitesOf(victim);
    const survivors = NODES.filter((id) => id !== victim);
    expect(moved.length, `${victim} owns sites`).toBeGreaterThan(0);
    expect(
      survivors.every((id) => sitesOf(id).length > 0),
      'the others own sites too',
    ).toBe(true);

    // The survivors' live feeds carry every node's events (the alarm feed): what each owner released, delivered or not.
    /** When each live-feed event reached the test. */
    const arrivedAt = new Map<unknown, number>();
    for (const id of survivors) {
      const stream = listenToAlarmStream(node(id).httpUrl, TOKENS.viewer);
      const push = stream.events.push.bind(stream.events);
      stream.events.push = (...items) => {
        for (const item of items) arrivedAt.set(item, Date.now());
        return push(...items);
      };
      streams.push(stream);
    }
    await Promise.all(streams.map((stream) => stream.ready));

    // The load balancer: a device goes to its home node while that lives, else to a survivor.
    let killed = false;
    DEVICES.forEach((device, i) => {
      const route = (): GatewayProcess =>
        killed && homeOf(i) === victim ? node(survivors[i % survivors.length] as string) : node(homeOf(i));
      devices.push(loadDevice(device, route));
    });
    await sleep(5_000);
    const ackedBefore = devices.reduce((n, d) => n + d.acked.size, 0);
    expect(ackedBefore, 'readings acknowledged before the kill').toBeGreaterThan(100);

    killed = true;
    node(victim).child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await node(victim).exited).toBe('SIGKILL');
    // (3) until every survivor's /api/cluster names a survivor as the owner of each of the victim's sites
    const takeoverMs = await eventually(
      'every survivor shows the victim’s sites owned by a survivor',
      async () => {
        const views = await Promise.all(survivors.map((id) => get(node(id), '/api/cluster')));
        const done = views.every(
          (view) =>
            !view.members.some((m: { nodeId: string }) => m.nodeId === victim) &&
            moved.every((site) => survivors.includes(view.owners[site])),
        );
        return done ? Date.now() - killedAt : undefined;
      },
      TAKEOVER_BOUND + 10_000,
    );
    const newOwners = (await get(node(survivors[0] as string), '/api/cluster')).owners as Record<string, string>;
    await sleep(6_000);
    await Promise.all(devices.map((d) => d.stop()));
    const stoppedAt = Date.now();

    // the devices of the victim went on elsewhere; each moved site was served again (a PUBACK after the kill)
    const victimsDevices = devices.filter((_, i) => homeOf(i) === victim);
    for (const d of victimsDevices) {
      expect(d.connections, `${d.device.id} reconnected`).toBeGreaterThan(1);
      expect(
        [...d.acked.values()].some((r) => r.at > killedAt),
        `${d.device.id} acknowledged after the kill`,
      ).toBe(true);
    }
    const resumedMs = Math.max(
      ...moved.map((site) => {
        const after = devices
          .filter((d) => d.device.site === site)
          .flatMap((d) => [...d.acked.values()].map((r) => r.at))
          .filter((at) => at > killedAt);
        expect(after.length, `${site} served again after the kill`).toBeGreaterThan(0);
        return Math.min(...after) - killedAt;
      }),
    );

    const readings = readingLedger(devices, database);
    const { ackedTotal, sentTotal } = readings;

    // Before the victim comes back: what the survivors hold is out (spool and outbox empty). Alarm events the victim
    // had not delivered are handed on by the sites' new owners; readings it acknowledged but had not yet written to
    // InfluxDB wait in its spool, on its disk (README).
    await untilDrained('the survivors drained', survivors.map(node));
    const missingBeforeRestart = await readings.missingNow();
    const gapsBeforeRestart = seqGaps(hooks.received);

    // The InfluxDB spool is node-local: what the killed node acknowledged but had not yet written waits on its disk
    // until it starts again with the same data directory and node id. The test restarts it so, and asserts
    // "nothing lost" after that.
    nodes.set(victim, await startGatewayProcess(configs.get(victim) as string, { timeoutMs: 45_000 }));
    await eventually(
      'every node sees three members again',
      async () => {
        const views = await Promise.all(NODES.map((id) => get(node(id), '/api/cluster')));
        return views.every((view) => view.members.length === 3) ? true : undefined;
      },
      20_000,
    );
    await untilDrained('every node drained', NODES.map(node));

    // (1) Readings: every acknowledged one is stored, once, with the value that was acknowledged (InfluxDB keeps one
    // point per series and time: a second write of the same reading on a different series would show as two rows);
    // nothing was stored that was never sent.
    const rows = await readings.expectStoredOnce(DEVICES.map((d) => d.id));

    // (2) Alarm transitions: per alarm id, the seq values delivered are 1..n, each with one event id (a repeated
    // delivery of one webhook-id is allowed: at least once); one alarm per key; what was delivered is what the book
    // recorded; and no key has two open alarms on any node.
    const ledger = webhookLedger(hooks.received);
    const { events, hopper, idsOfKey, seqsOf, repeated } = ledger;
    const gaps = seqGaps(hooks.received);
    console.info(
      `cluster kill -9 under load: ${victim} killed (owner of ${moved.join(', ')} → ${moved.map((s) => newOwners[s]).join(', ')}); ` +
        `${ackedBefore} acknowledged before the kill, ${ackedTotal} in all, ${sentTotal} sent, ${rows.length} stored; ` +
        `${events.length} alarm events delivered (${hopper.length} hopper, ${repeated} repeated deliveries) for ${seqsOf.size} alarms; ` +
        `takeover ${takeoverMs} ms (bound ${TAKEOVER_BOUND}), moved sites served again after ${resumedMs} ms; ` +
        `before the victim's restart: ${missingBeforeRestart.length} acknowledged readings not in InfluxDB, ${gapsBeforeRestart.length} seq gaps` +
        `${gapsBeforeRestart.length > 0 ? ` (${gapsBeforeRestart.slice(0, 5).join(', ')})` : ''}, after it: ${gaps.length}; load stopped ${stoppedAt - killedAt} ms after the kill`,
    );
    for (const [key, ids] of idsOfKey) expect([...ids], `one alarm for ${key}`).toHaveLength(1);
    const anyNode = node(survivors[0] as string);
    // A transition never delivered, even after the victim's restart: where it is (the book's history, the survivors'
    // live feeds, with when it reached them). Seen here before it was fixed (Dec 2026, 5 runs of
    // 11): an event whose site write reached Redis while the victim died before the event reached its outbox; the
    // next owner went on at the next seq. Such events are now kept in Redis until delivered and handed on.
    const explained = await Promise.all(
      gaps.map(async (gap) => {
        const [id, seq] = gap.split('#') as [string, string];
        const { alarm, history } = (await get(anyNode, `/api/alarms/${id}`)) as {
          alarm: { site: string };
          history: Array<{ seq: number; type: string; at: string }>;
        };
        const step = history.find((h) => h.seq === Number(seq));
        const onFeed = streams
          .flatMap((stream) => stream.events)
          .filter((e) => e.data.data?.alarm?.id === id && e.data.data.alarm.seq === Number(seq))
          .map((e) => `${e.data.type} ${e.data.id} arrived ${(arrivedAt.get(e) ?? Number.NaN) - killedAt} ms after the kill`);
        return (
          `${gap} (${alarm.site}, owned by ${owners[alarm.site]} before the kill): ${step?.type ?? 'not'} in the book's history, ` +
          `on the survivors' live feeds: ${onFeed.length > 0 ? onFeed.join(', ') : 'no'}; webhook: never`
        );
      }),
    );
    expect(gaps, `alarm transitions never delivered, even after the victim's restart: ${explained.join('; ')}`).toEqual([]);
    await expectDeliveredAsRecorded(ledger, anyNode);
    for (const id of NODES)
      for (const [key, ids] of await openAlarmIdsByKey(node(id))) expect(ids, `${id}: one open alarm for ${key}`).toHaveLength(1);

    // (3) the move, measured from the kill
    expect(takeoverMs, 'sites moved within memberTimeout + heartbeat + margin').toBeLessThan(TAKEOVER_BOUND);
  }, 110_000);
});
