import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FORWARD_TIMEOUT, HEARTBEAT, MEMBER_TIMEOUT } from './cluster-load.js';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './gateway-process.js';
import { type PrivateRedis, startPrivateRedis } from './private-redis.js';
import { eventually, type TestDevice, TOKENS } from './test-gateway.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

/** Where the nodes of a test cluster meet and deliver: one Redis, one webhook receiver and its secret (and InfluxDB). */
export interface ClusterParts {
  redisUrl: string;
  receiverUrl: string;
  secret: string;
  /** Readings stored in this database of the suite's influxd (default: InfluxDB off). */
  influx?: { url: string; database: string };
}

/**
 * Gateway processes as the nodes `ids` of one cluster (heartbeat 200 ms, members gone after 2 s, forwarded actions
 * waited for 3 s), each with its own data directory, the same devices and one webhook subscription.
 */
export async function startClusterNodes(
  ids: readonly string[],
  devices: TestDevice[],
  parts: ClusterParts,
): Promise<Map<string, GatewayProcess>> {
  const nodes = new Map<string, GatewayProcess>();
  await Promise.all(
    ids.map(async (id) => {
      const dir = mkdtempSync(join(tmpdir(), `gateway-cluster-${id}-`));
      const config = await writeGatewayConfig(dir, devices, [
        'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
        parts.influx
          ? `influx: { mode: url, url: ${JSON.stringify(parts.influx.url)}, database: ${parts.influx.database}, flushInterval: 100ms }`
          : 'influx: { mode: off }',
        `cluster: { redis: { url: "${parts.redisUrl}" }, nodeId: ${id}, heartbeat: ${HEARTBEAT}, memberTimeout: ${MEMBER_TIMEOUT}, forwardTimeout: ${FORWARD_TIMEOUT} }`,
        'webhooks:',
        `  - { id: platform, url: ${JSON.stringify(parts.receiverUrl)}, secrets: ["${parts.secret}"] }`,
      ]);
      nodes.set(id, await startGatewayProcess(config, { timeoutMs: 45_000 }));
    }),
  );
  return nodes;
}

/** Dust collectors `dc-1`… on sites `plant-1`…, one a site, that report every 2 minutes: none goes silent in a test. */
export const quietDustCollectors = (count: number): TestDevice[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `dc-${i + 1}`,
    site: `plant-${i + 1}`,
    profile: 'dust-collector',
    secret: `secret-dc-${i + 1}`,
    attributes: { reportingIntervalMs: 120_000 },
  }));

/** A GET of the node's API as a viewer. */
export async function viewerGet(node: GatewayProcess, path: string): Promise<any> {
  const response = await fetch(`${node.httpUrl}${path}`, { headers: { authorization: `Bearer ${TOKENS.viewer}` } });
  return response.json();
}

/** Waits until every node counts all of them as members; answers each site's owner. */
export function clusterFormed(nodes: ReadonlyMap<string, GatewayProcess>): Promise<Record<string, string>> {
  return eventually(`every node sees ${nodes.size} members`, async () => {
    const views = await Promise.all([...nodes.values()].map((node) => viewerGet(node, '/api/cluster')));
    return views.every((view) => view.members.length === nodes.size) ? (views[0].owners as Record<string, string>) : undefined;
  });
}

/**
 * A cluster for a test file: a private redis-server, a webhook receiver (signing with `secret`) and the nodes `ids`,
 * started before the file's tests and stopped after them (the hooks are registered here). Its parts are there once
 * the tests run.
 */
export function clusterForTests(ids: readonly string[], devices: TestDevice[], secret: string) {
  const cluster = {
    redis: undefined as unknown as PrivateRedis,
    receiver: undefined as unknown as WebhookReceiver,
    nodes: new Map<string, GatewayProcess>(),
    node: (id: string): GatewayProcess => cluster.nodes.get(id) as GatewayProcess,
  };
  beforeAll(async () => {
    cluster.redis = await startPrivateRedis();
    cluster.receiver = await startWebhookReceiver(secret);
    const started = await startClusterNodes(ids, devices, { redisUrl: cluster.redis.url, receiverUrl: cluster.receiver.url, secret });
    for (const [id, node] of started) cluster.nodes.set(id, node);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([...cluster.nodes.values()].map((running) => running.stop()));
    await cluster.receiver?.close();
    await cluster.redis?.dispose();
  });
  return cluster;
}
