/**
 * Load generator child: one raw MQTT connection per device, pre-encoded dust-collector payloads, either
 * as fast as the broker takes them (`flood`) or at a fixed total rate (`paced`). QoS 1 keeps a window of
 * unacknowledged PUBLISH per connection, as a device's client library would.
 */
import { childRuntime } from '../lib/child.js';
import { encodePublish, openConnection, type WireConnection } from '../lib/mqtt-wire.js';
import { dustCollectorReports, telemetryPayload, telemetryTopic } from '../lib/payloads.js';
import { sleep, wallMs } from '../lib/stats.js';

export interface PublishLoadArgs {
  host: string;
  port: number;
  /** Port per device, index-aligned with `devices` (several brokers from one generator); `port` when absent. */
  ports?: number[];
  /** Site per device, index-aligned with `devices` (its topic); `site` when absent. */
  sites?: string[];
  qos: 0 | 1;
  site: string;
  /** One connection per device; username = device id when `password` is given. */
  devices: string[];
  password?: string;
  messagesPerDevice: number;
  mode: 'flood' | 'paced';
  /** Paced: messages per second over all connections. */
  rate?: number;
  /** QoS 1: unacknowledged PUBLISH per connection. */
  window?: number;
  /** Paced payloads carry no `ts` (the gateway's receive time is used); flood payloads carry device times 30 s apart. */
  seed?: number;
}

interface Lane {
  connection: WireConnection;
  packets: Buffer[];
  next: number;
  acked: number;
}

const runtime = childRuntime<PublishLoadArgs>();
const args = runtime.args;
const window = args.window ?? 100;
const CHUNK = 64;
/** Flood payloads replay the model's 30-s reports, device times 30 s apart ending now (a backlog replayed fast). */
const REPORT_INTERVAL_MS = 30_000;

const reports = dustCollectorReports(512, args.seed ?? 42);
const now = Date.now();
const lanes: Lane[] = [];
for (const [index, device] of args.devices.entries()) {
  const topic = telemetryTopic(args.sites?.[index] ?? args.site, device);
  const packets: Buffer[] = new Array(args.messagesPerDevice);
  for (let k = 0; k < args.messagesPerDevice; k += 1) {
    const metrics = reports[(k + index * 37) % reports.length] as Record<string, number | boolean | string>;
    const payload =
      args.mode === 'flood'
        ? telemetryPayload(metrics, now - (args.messagesPerDevice - k) * REPORT_INTERVAL_MS, k + 1)
        : Buffer.from(JSON.stringify({ seq: k + 1, metrics }));
    packets[k] = encodePublish(topic, payload, args.qos, (k % 65_535) + 1);
  }
  const connection = await openConnection({
    host: args.host,
    port: args.ports?.[index] ?? args.port,
    clientId: device,
    username: args.password === undefined ? undefined : device,
    password: args.password,
  });
  lanes.push({ connection, packets, next: 0, acked: 0 });
}
const payloadBytes = reports.length > 0 ? telemetryPayload(reports[0] as Record<string, never>, now, 1).length : 0;

let stopRequested = false;

async function floodQos0(lane: Lane): Promise<void> {
  const { socket } = lane.connection;
  let last: Promise<void> = Promise.resolve();
  while (lane.next < lane.packets.length && !stopRequested) {
    const end = Math.min(lane.packets.length, lane.next + CHUNK);
    last = lane.connection.write(Buffer.concat(lane.packets.slice(lane.next, end)));
    lane.next = end;
    if (socket.writableNeedDrain) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await last;
}

/** QoS 1: keeps `window` PUBLISH unacknowledged; `allowed()` says how many may have been sent by now (paced). */
function qos1(lane: Lane, allowed: () => number): { done: Promise<void>; pump(): void } {
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let scheduled = false;
  const pump = (): void => {
    scheduled = false;
    const limit = Math.min(lane.packets.length, lane.acked + window, allowed());
    if (limit > lane.next && !stopRequested) {
      void lane.connection.write(Buffer.concat(lane.packets.slice(lane.next, limit)));
      lane.next = limit;
    }
  };
  lane.connection.onPuback = () => {
    lane.acked += 1;
    if (lane.acked >= lane.packets.length || (stopRequested && lane.acked >= lane.next)) resolveDone();
    else if (!scheduled) {
      scheduled = true;
      queueMicrotask(pump);
    }
  };
  return { done, pump };
}

async function paced(rate: number): Promise<void> {
  const perLane = rate / lanes.length;
  const start = wallMs();
  const allowed = (): number => Math.floor(((wallMs() - start) / 1000) * perLane);
  const drivers = args.qos === 1 ? lanes.map((lane) => qos1(lane, allowed)) : [];
  while (!stopRequested && lanes.some((lane) => lane.next < lane.packets.length)) {
    for (const [index, lane] of lanes.entries()) {
      if (args.qos === 1) (drivers[index] as ReturnType<typeof qos1>).pump();
      else {
        const limit = Math.min(lane.packets.length, allowed());
        if (limit > lane.next) {
          void lane.connection.write(Buffer.concat(lane.packets.slice(lane.next, limit)));
          lane.next = limit;
        }
      }
    }
    await sleep(5);
  }
}

let running: Promise<Record<string, unknown>> | null = null;

runtime.serve({
  /** Sends everything (flood) or paces (paced) and answers when the last PUBLISH is flushed (QoS 0) or acknowledged (QoS 1). */
  go: async () => {
    const startedAt = wallMs();
    if (args.mode === 'paced') {
      running = paced(args.rate ?? 1000).then(() => ({}));
      return { startedAt };
    }
    if (args.qos === 0) await Promise.all(lanes.map(floodQos0));
    else
      await Promise.all(
        lanes.map((lane) => {
          const driver = qos1(lane, () => Number.POSITIVE_INFINITY);
          driver.pump();
          return driver.done;
        }),
      );
    const finishedAt = wallMs();
    const sent = lanes.reduce((sum, lane) => sum + lane.next, 0);
    return { startedAt, finishedAt, sent, acked: lanes.reduce((sum, lane) => sum + lane.acked, 0), payloadBytes };
  },
  /** Paced mode: stops sending and reports what was sent. */
  stop: async () => {
    stopRequested = true;
    await running;
    return { sent: lanes.reduce((sum, lane) => sum + lane.next, 0), acked: lanes.reduce((sum, lane) => sum + lane.acked, 0) };
  },
  close: () => {
    stopRequested = true;
    for (const lane of lanes) lane.connection.close();
  },
});
runtime.ready({ connections: lanes.length, payloadBytes });
