/**
 * Section 3's floor, in a process of its own: what any broker that raises an alarm costs on this machine. Bare aedes 1.2
 * (no authentication, nothing stored, nothing judged but one threshold on the probe site's readings) that, on a
 * hopper temperature over 70 °C, posts a signed `alarm.raised` (Standard Webhooks, as the gateway signs) to the webhook
 * receiver over a kept-alive `node:http` connection and writes it to every client of its `/api/alarms/stream` (SSE).
 * The background load is acknowledged, counted and dropped. The gateway's latency above this floor, measured in the
 * same run under the same load, is the gateway's own: what remains of the floor is the machine's (its cores shared by
 * the load generator, the probe, influxd and the broker).
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer as createHttpServer, request, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { childRuntime } from '../lib/child.js';
import { cpuSeconds } from '../lib/counters.js';
import { threadRuntime } from '../lib/runtime-pauses.js';

export interface AlarmFloorArgs {
  /** The probe's sites (`latency-probe-<run>`): their readings are judged, every other is only acknowledged. */
  probeSitePrefix: string;
  webhook: { url: string; secret: string };
}

const runtime = childRuntime<AlarmFloorArgs>();
const { args } = runtime;
const registry = new Registry();
// the same runtime figures, under the same names, as the gateway's registry (bench/lib/runtime-pauses.ts)
collectDefaultMetrics({ register: registry, prefix: 'gateway_' });

const signer = new Webhook(args.webhook.secret);
const agent = new Agent({ keepAlive: true });
const streams = new Set<ServerResponse>();
let accepted = 0;

/** One alarm, as the gateway would say it: the probe looks only at the type, the device and the rule. */
function raise(site: string, device: string, value: number): void {
  const id = `evt_${randomUUID()}`;
  const timestamp = new Date();
  const body = JSON.stringify({
    type: 'alarm.raised',
    id,
    timestamp: timestamp.toISOString(),
    data: { alarm: { site, device, profile: 'dust-collector', rule: 'hopper_temp_high', severity: 'orange', value, threshold: 70 } },
  });
  for (const stream of streams) stream.write(`id: ${id}\nevent: alarm.raised\ndata: ${body}\n\n`);
  const headers = {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signer.sign(id, timestamp, body),
  };
  const post = request(args.webhook.url, { method: 'POST', headers, agent }, (response) => response.resume());
  post.on('error', () => undefined);
  post.end(body);
}

const TOPIC = /^sites\/([^/]+)\/devices\/([^/]+)\/telemetry$/;
const broker = await Aedes.createBroker({
  authorizePublish(_client, packet, done) {
    accepted += 1;
    const match = TOPIC.exec(packet.topic);
    if (match?.[1]?.startsWith(args.probeSitePrefix)) {
      const value = (JSON.parse(packet.payload.toString()) as { metrics?: { hopper_temp?: number } }).metrics?.hopper_temp;
      if (typeof value === 'number' && value > 70) raise(match[1], match[2] as string, value);
    }
    done(null);
  },
});
const mqtt = createServer(broker.handle);
await new Promise<void>((resolve) => mqtt.listen(0, '127.0.0.1', resolve));
const http = createHttpServer((req, res) => {
  if (req.url !== '/api/alarms/stream') return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': ready\n\n');
  streams.add(res);
  req.on('close', () => streams.delete(res));
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const portOf = (server: { address(): unknown }): number => (server.address() as { port: number }).port;

runtime.serve({
  stats: () => ({ rss: process.memoryUsage().rss, cpuSeconds: cpuSeconds(), connections: broker.connectedClients, accepted }),
  /** The event-loop delay since the last call and the GC totals, as the gateway server's `runtime` (no worker). */
  runtime: async () => ({ main: threadRuntime(await registry.getMetricsAsJSON()), worker: null }),
  close: async () => {
    for (const stream of streams) stream.end();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    mqtt.close();
    http.close();
    agent.destroy();
  },
});
runtime.ready({ port: portOf(mqtt), httpUrl: `http://127.0.0.1:${portOf(http)}` });
