import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ownerOf } from '../../gateway/src/cluster/ownership.js';
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
import { eventually, freshDatabase, type TestDevice } from '../helpers/test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('cluster-join-load-secret-32-byte').toString('base64')}`;
const FIRST = ['gw-a', 'gw-b'] as const;
const JOINER = 'gw-c';
const NODES = [...FIRST, JOINER] as const;
/**
 * Once the joiner has started, the others see it at their next look at the members (a heartbeat); the bound adds
 * memberTimeout and a margin for this shared, loaded 2-core machine.
 */
const JOIN_MARGIN = MEMBER_TIMEOUT + HEARTBEAT + 3_000;
/**
 * Twenty-four devices on six sites, four a site; device i connects to gw-a or gw-b (i % 2), so each site has
 * devices on both. The site names are chosen so that gw-c, when it joins, takes one site from each live owner
 * (rendezvous hashing: js-2 from gw-b, js-5 from gw-a) and both keep sites.
 */
const DEVICES: TestDevice[] = Array.from({ length: 24 }, (_, i) => ({
  id: `jl-${String(i + 1).padStart(2, '0')}`,
  site: `js-${Math.floor(i / 4) + 1}`,
  profile: 'dust-collector',
  secret: `join-load-secret-${i + 1}`,
}));
const SITES = [...new Set(DEVICES.map((d) => d.site))];
const homeOf = (index: number): string => FIRST[index % FIRST.length] as string;
/** After gw-c has joined, the load balancer sends these devices (one a site) to it: their connection is dropped. */
const movesToJoiner = (index: number): boolean => index % 4 === 0;

/** A node's alarms, `id seq` each, sorted: what the node lists (its own and, mirrored, the other owners'). */
async function alarmSeqs(node: GatewayProcess): Promise<string[]> {
  const { alarms } = (await get(node, '/api/alarms?limit=10000')) as { alarms: Array<{ id: string; seq: number }> };
  return alarms.map((alarm) => `${alarm.id} ${alarm.seq}`).sort();
}

describe('a node added under QoS 1 load: ownership rebalances onto it from live owners with the same guarantees (issue 16)', () => {
  let redis: PrivateRedis | undefined;
  let receiver: WebhookReceiver | undefined;
  const nodes = new Map<string, GatewayProcess>();
  const devices: Array<ReturnType<typeof loadDevice>> = [];

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.stop()));
    await Promise.all([...nodes.values()].map((running) => running.stop()));
    await receiver?.close();
    await redis?.dispose();
  }, 30_000);

  it('two nodes, 24 devices on 6 sites, a third node joins: every acknowledged reading stored once, every alarm transition delivered once in order, all nodes agree, the joiner owns its sites within memberTimeout + heartbeat of its start', async () => {
    const database = freshDatabase();
    redis = await startPrivateRedis();
    receiver = await startWebhookReceiver(SECRET);
    const hooks = receiver;
    const configs = new Map<string, string>();
    await Promise.all(
      NODES.map(async (id) => {
        const dir = mkdtempSync(join(tmpdir(), `gateway-join-load-${id}-`));
        configs.set(
          id,
          await writeGatewayConfig(dir, DEVICES, [
            'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
            `influx: { mode: url, url: ${JSON.stringify(inject('influxUrl'))}, database: ${database}, flushInterval: 100ms }`,
            `cluster: { redis: { url: "${redis?.url}" }, nodeId: ${id}, heartbeat: ${HEARTBEAT}, memberTimeout: ${MEMBER_TIMEOUT}, forwardTimeout: ${FORWARD_TIMEOUT} }`,
            'webhooks:',
            `  - { id: platform, url: ${JSON.stringify(hooks.url)}, secrets: ["${SECRET}"] }`,
          ]),
        );
      }),
    );
    await Promise.all(FIRST.map(async (id) => nodes.set(id, await startGatewayProcess(configs.get(id) as string, { timeoutMs: 45_000 }))));
    const node = (id: string): GatewayProcess => nodes.get(id) as GatewayProcess;
    const ownersBefore = await eventually(
      'gw-a and gw-b see two members',
      async () => {
        const views = await Promise.all(FIRST.map((id) => get(node(id), '/api/cluster')));
        return views.every((view) => view.members.length === 2) ? (views[0].owners as Record<string, string>) : undefined;
      },
      20_000,
    );
    // what rendezvous hashing gives the joiner: sites taken from live owners, one from each
    const gained = SITES.filter((site) => ownerOf(site, [...NODES]) === JOINER);
    expect(gained.length, 'gw-c gains sites').toBeGreaterThan(0);
    expect(new Set(gained.map((site) => ownersBefore[site])), 'taken from both live owners').toEqual(new Set(FIRST));

    // The load balancer: home node until gw-c has joined; then the devices it moves go to gw-c.
    let joined = false;
    DEVICES.forEach((device, i) => {
      const route = (): GatewayProcess => (joined && movesToJoiner(i) ? node(JOINER) : node(homeOf(i)));
      devices.push(loadDevice(device, route));
    });
    await sleep(5_000);
    const ackedBefore = devices.reduce((n, d) => n + d.acked.size, 0);
    expect(ackedBefore, 'readings acknowledged before the join').toBeGreaterThan(100);

    // (3) gw-c starts; from then until every node's /api/cluster shows it owning its sites
    const joinAt = Date.now();
    nodes.set(JOINER, await startGatewayProcess(configs.get(JOINER) as string, { timeoutMs: 45_000 }));
    const startedMs = Date.now() - joinAt;
    const joinMs = await eventually(
      'every node shows gw-c owning its sites',
      async () => {
        const views = await Promise.all(NODES.map((id) => get(node(id), '/api/cluster')));
        const done = views.every(
          (view) => view.members.length === 3 && SITES.every((site) => view.owners[site] === ownerOf(site, [...NODES])),
        );
        return done ? Date.now() - joinAt : undefined;
      },
      startedMs + JOIN_MARGIN + 10_000,
    );
    const joinBound = startedMs + JOIN_MARGIN;
    joined = true;
    for (const d of devices.filter((_, i) => movesToJoiner(i))) d.drop();
    await sleep(8_000);
    await Promise.all(devices.map((d) => d.stop()));
    const stoppedAt = Date.now();

    // the moved devices went on on gw-c; each gained site was served again (a PUBACK after the join)
    for (const d of devices.filter((_, i) => movesToJoiner(i))) {
      expect(d.connections, `${d.device.id} reconnected`).toBeGreaterThan(1);
      expect(
        [...d.acked.values()].some((r) => r.at > joinAt + joinMs),
        `${d.device.id} acknowledged after the join`,
      ).toBe(true);
    }
    const servedAfterMs = Math.max(
      ...gained.map((site) => {
        const after = devices
          .filter((d) => d.device.site === site)
          .flatMap((d) => [...d.acked.values()].map((r) => r.at))
          .filter((at) => at > joinAt + joinMs);
        expect(after.length, `${site} served after the join`).toBeGreaterThan(0);
        return Math.min(...after) - (joinAt + joinMs);
      }),
    );
    const reconnections = devices.reduce((n, d) => n + d.connections - 1, 0);

    const readings = readingLedger(devices, database);
    const { ackedTotal, sentTotal } = readings;

    await untilDrained('every node drained', NODES.map(node));

    // (1) Readings: every acknowledged one is stored, once, with the value that was acknowledged; nothing was
    // stored that was never sent.
    const rows = await readings.expectStoredOnce(DEVICES.map((d) => d.id));

    // (2) Alarm transitions: per alarm id, the seq values delivered are 1..n, each with one event id (a repeated
    // delivery of one webhook-id is allowed: at least once); one alarm per key; what was delivered is what the book
    // recorded; no key has two open alarms on any node; every node lists the same alarms at the same seq.
    const ledger = webhookLedger(hooks.received);
    const { events, hopper, idsOfKey, seqsOf, repeated } = ledger;
    // the gained sites' alarms: raised by the old owner and carried on by gw-c (same id, seq continuing)
    const carriedOn = [...seqsOf.keys()].filter((id) => {
      const ofAlarm = events.filter((hook) => hook.event.data.alarm.id === id);
      return (
        gained.includes(ofAlarm[0]?.event.data.alarm.site) &&
        ofAlarm.some((hook) => hook.at < joinAt) &&
        ofAlarm.some((hook) => hook.at > joinAt + joinMs)
      );
    });
    // every node mirrors every owner's alarms: the same ids at the same seq everywhere (eventually: the mirror)
    const lists = await eventually(
      'every node lists the same alarms at the same seq',
      async () => {
        const all = await Promise.all(NODES.map((id) => alarmSeqs(node(id))));
        return all.every((list) => JSON.stringify(list) === JSON.stringify(all[0])) ? all : undefined;
      },
      10_000,
    ).catch(async () => Promise.all(NODES.map((id) => alarmSeqs(node(id)))));
    const gaps = seqGaps(hooks.received);
    console.info(
      `cluster join under load: gw-c joined (took ${gained.map((s) => `${s} from ${ownersBefore[s]}`).join(', ')}); ` +
        `${ackedBefore} acknowledged before the join, ${ackedTotal} in all, ${sentTotal} sent, ${rows.length} stored, ${reconnections} reconnections; ` +
        `${events.length} alarm events delivered (${hopper.length} hopper, ${repeated} repeated deliveries) for ${seqsOf.size} alarms, ` +
        `${carriedOn.length} carried on across the move; seq gaps ${gaps.length}${gaps.length > 0 ? ` (${gaps.slice(0, 5).join(', ')})` : ''}; ` +
        `gw-c started in ${startedMs} ms, owned its sites on every node after ${joinMs} ms (bound ${joinBound}), gained sites served after ${servedAfterMs} ms; ` +
        `load stopped ${stoppedAt - joinAt} ms after gw-c's start`,
    );
    for (const [key, ids] of idsOfKey) expect([...ids], `one alarm for ${key}`).toHaveLength(1);
    const anyNode = node(JOINER);
    const explained = await Promise.all(
      gaps.map(async (gap) => {
        const [id, seq] = gap.split('#') as [string, string];
        const { alarm, history } = (await get(anyNode, `/api/alarms/${id}`)) as {
          alarm: { site: string };
          history: Array<{ seq: number; type: string; at: string }>;
        };
        const step = history.find((h) => h.seq === Number(seq));
        return `${gap} (${alarm.site}, ${ownersBefore[alarm.site]} → ${ownerOf(alarm.site, [...NODES])}): ${step?.type ?? 'not'} in the book's history at ${step?.at}, gw-c started ${new Date(joinAt).toISOString()}; webhook: never`;
      }),
    );
    expect(gaps, `alarm transitions never delivered: ${explained.join('; ')}`).toEqual([]);
    await expectDeliveredAsRecorded(ledger, anyNode);
    // A key with two open alarms on a node: where each of them is (every node's view of it, the webhooks it got).
    // Seen here before it was fixed (Dec 2026, 2 runs of 8): the node that lost the site kept, open, an alarm that
    // only it had and no webhook carried — raised from a reading its pipeline had judged before it learned of the
    // loss, applied to its book after its first fenced write had forgotten the site (site-takeover.ts now forgets the
    // site in the book on every fenced write, and on a write that went through for a site no longer judged).
    const whereIs = async (alarmId: string): Promise<string> => {
      const views = await Promise.all(
        NODES.map(async (id) => {
          const found = await get(node(id), `/api/alarms/${alarmId}`).catch(() => null);
          if (!found) return `${id}: absent`;
          const { alarm, history } = found as {
            alarm: { seq: number; state: string; resolved: boolean; raisedAt: string };
            history: Array<{ seq: number; type: string; at: string }>;
          };
          const last = history.at(-1);
          return `${id}: seq ${alarm.seq} ${alarm.state}${alarm.resolved ? ' resolved' : ''} raised ${alarm.raisedAt}, last ${last?.type} at ${last?.at}`;
        }),
      );
      const seqs = [...(seqsOf.get(alarmId) ?? [])];
      return `${alarmId} [${views.join('; ')}; webhooks: ${seqs.length > 0 ? `seq 1..${Math.max(...seqs)}` : 'none'}]`;
    };
    for (const id of NODES) {
      for (const [key, ids] of await openAlarmIdsByKey(node(id))) {
        const evidence = ids.length > 1 ? (await Promise.all(ids.map(whereIs))).join(' | ') : '';
        expect.soft(ids, `${id}: one open alarm for ${key} ${evidence}`).toHaveLength(1);
      }
    }
    const delivered = [...seqsOf].map(([id, seqs]) => `${id} ${Math.max(...seqs)}`).sort();
    for (const [k, id] of NODES.entries()) expect.soft(lists[k], `${id}: the same alarms at the same seq as gw-a`).toEqual(lists[0]);
    expect.soft(lists[0], 'the alarms listed are the alarms delivered, at the last seq delivered').toEqual(delivered);

    // (3) the join, measured from gw-c's start
    expect(joinMs, 'gw-c owns its sites on every node within its start time + memberTimeout + heartbeat + margin').toBeLessThan(joinBound);
  }, 110_000);
});
