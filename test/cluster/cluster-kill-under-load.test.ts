import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { drained, FORWARD_TIMEOUT, get, HEARTBEAT, loadDevice, MEMBER_TIMEOUT, seqGaps, sleep } from '../helpers/cluster-load.js';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from '../helpers/gateway-process.js';
import { queryInflux } from '../helpers/influx-query.js';
import { type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { listenToAlarmStream, type SseListener } from '../helpers/sse-listener.js';
import { eventually, freshDatabase, type TestDevice, TOKENS } from '../helpers/test-gateway.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

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

    const acked = new Map(devices.map((d) => [d.device.id, [...d.acked.values()]]));
    const sent = new Map(devices.map((d) => [d.device.id, d.sent]));
    const ackedTotal = [...acked.values()].reduce((n, list) => n + list.length, 0);
    const sentTotal = [...sent.values()].reduce((n, map) => n + map.size, 0);
    const storedKeys = async (): Promise<Set<string>> => {
      const out = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry').catch(() => []);
      return new Set(out.map((row) => `${row.device} ${new Date(row.time).getTime()}`));
    };
    const missing = (present: Set<string>): string[] =>
      [...acked].flatMap(([id, list]) => list.filter((r) => !present.has(`${id} ${r.ts}`)).map((r) => `${id}@${r.seq}`));

    // Before the victim comes back: what the survivors hold is out (spool and outbox empty); what is still missing
    // is what the victim had acknowledged or released and not yet written or delivered — on its disk (README).
    await eventually(
      'the survivors drained',
      async () => ((await Promise.all(survivors.map((id) => drained(node(id))))).every(Boolean) ? true : undefined),
      30_000,
    );
    const missingBeforeRestart = missing(await storedKeys());
    const gapsBeforeRestart = seqGaps(hooks.received);

    // Known limitation (README, "Not yet"): the spool and the webhook outbox are node-local, so what the killed node
    // acknowledged or released but had not yet written to InfluxDB or delivered waits on its disk until it starts
    // again with the same data directory and node id. The test restarts it so, and asserts "nothing lost" after that.
    nodes.set(victim, await startGatewayProcess(configs.get(victim) as string, { timeoutMs: 45_000 }));
    await eventually(
      'every node sees three members again',
      async () => {
        const views = await Promise.all(NODES.map((id) => get(node(id), '/api/cluster')));
        return views.every((view) => view.members.length === 3) ? true : undefined;
      },
      20_000,
    );
    await eventually(
      'every node drained',
      async () => ((await Promise.all(NODES.map((id) => drained(node(id))))).every(Boolean) ? true : undefined),
      30_000,
    );

    // (1) Readings: every acknowledged one is stored, once, with the value that was acknowledged (InfluxDB keeps one
    // point per series and time: a second write of the same reading on a different series would show as two rows);
    // nothing was stored that was never sent.
    const rows = await eventually(
      'every acknowledged reading in influxd',
      async () => {
        const out = await queryInflux(database, 'SELECT hopper_temp, device FROM telemetry').catch(() => []);
        const present = new Set(out.map((row) => `${row.device} ${new Date(row.time).getTime()}`));
        return missing(present).length === 0 ? out : undefined;
      },
      15_000,
    ).catch(async (error: Error) => {
      const still = missing(await storedKeys());
      throw new Error(`${error.message}; ${still.length} acknowledged readings missing, e.g. ${still.slice(0, 10).join(', ')}`);
    });
    const stored = new Map<string, Map<number, number[]>>();
    for (const row of rows) {
      const byTs = stored.get(row.device) ?? new Map<number, number[]>();
      const ts = new Date(row.time).getTime();
      byTs.set(ts, [...(byTs.get(ts) ?? []), row.hopper_temp]);
      stored.set(row.device, byTs);
    }
    for (const d of DEVICES) {
      const mine = stored.get(d.id) ?? new Map<number, number[]>();
      for (const reading of acked.get(d.id) ?? [])
        expect(mine.get(reading.ts), `${d.id} seq ${reading.seq} stored once`).toEqual([reading.value]);
      const sentByTs = new Map([...(sent.get(d.id)?.values() ?? [])].map((r) => [r.ts, r.value]));
      for (const [ts, values] of mine) expect(values, `${d.id} ts ${ts} was sent`).toEqual([sentByTs.get(ts)]);
    }

    // (2) Alarm transitions: per alarm id, the seq values delivered are 1..n, each with one event id (a repeated
    // delivery of one webhook-id is allowed: at least once); one alarm per key; what was delivered is what the book
    // recorded; and no key has two open alarms on any node.
    const byWebhookId = new Map<string, ReceivedWebhook>();
    for (const hook of hooks.received)
      if (!byWebhookId.has(String(hook.headers['webhook-id']))) byWebhookId.set(String(hook.headers['webhook-id']), hook);
    expect(
      hooks.received.every((hook) => hook.verified),
      'every delivery signed',
    ).toBe(true);
    const events = [...byWebhookId.values()];
    const hopper = events.filter((hook) => hook.event.data.alarm.rule === 'hopper_temp_high');
    expect(hopper.length, 'hopper alarm events delivered').toBeGreaterThan(30);
    const idsOfKey = new Map<string, Set<string>>();
    const eventIdsOf = new Map<string, Set<string>>();
    const seqsOf = new Map<string, Set<number>>();
    for (const hook of events) {
      const alarm = hook.event.data.alarm;
      idsOfKey.set(alarm.key, (idsOfKey.get(alarm.key) ?? new Set()).add(alarm.id));
      eventIdsOf.set(`${alarm.id}#${alarm.seq}`, (eventIdsOf.get(`${alarm.id}#${alarm.seq}`) ?? new Set()).add(hook.event.id));
      seqsOf.set(alarm.id, (seqsOf.get(alarm.id) ?? new Set()).add(alarm.seq));
    }
    const repeated = hooks.received.length - byWebhookId.size;
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
    // live feeds, with when it reached them). Seen here (Dec 2026): an event whose site write reached Redis (its
    // alarm state and the alarm feed) while the victim died before it released the event to its local outbox
    // (site-replica.ts writeStaged: the write is awaited, then released) — the next owner goes on at the next seq.
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
    for (const [at, ids] of eventIdsOf) expect([...ids], `${at}: one event`).toHaveLength(1);
    for (const [id, seqs] of seqsOf) {
      const sorted = [...seqs].sort((a, b) => a - b);
      expect(sorted, `alarm ${id}: every seq, no gap`).toEqual(Array.from({ length: sorted.length }, (_, k) => k + 1));
      const { history } = (await get(anyNode, `/api/alarms/${id}`)) as { history: unknown[] };
      expect(history.length, `alarm ${id}: delivered = recorded`).toBe(sorted.length);
    }
    for (const id of NODES) {
      const open = (await get(node(id), '/api/alarms?state=open')).alarms as Array<{ key: string; id: string }>;
      const perKey = new Map<string, string[]>();
      for (const alarm of open) perKey.set(alarm.key, [...(perKey.get(alarm.key) ?? []), alarm.id]);
      for (const [key, ids] of perKey) expect(ids, `${id}: one open alarm for ${key}`).toHaveLength(1);
    }

    // (3) the move, measured from the kill
    expect(takeoverMs, 'sites moved within memberTimeout + heartbeat + margin').toBeLessThan(TAKEOVER_BOUND);
  }, 110_000);
});
