/**
 * Reconnect-storm load child (section `storm`): `devices` devices, silent through an outage, reconnect at once
 * (`connectConcurrency` CONNECTs in flight) and each sends its backlog at QoS 1 — `backlog` readings
 * `intervalMs` apart in device time, ending before the reconnect, in order, `window` PUBLISH unacknowledged per
 * connection — then goes live: a reading every `intervalMs` in real time, stamped now, at least `live` of them and
 * then until `stop` (at most `maxLive`), so no device falls silent again while the storm is measured. Every PUBLISH
 * is timed from its write to its PUBACK; every CONNECT from its write to the CONNACK.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { childRuntime } from '../lib/child.js';
import { encodePublish, openConnection, type WireConnection } from '../lib/mqtt-wire.js';
import { dustCollectorReports, telemetryPayload, telemetryTopic } from '../lib/payloads.js';
import { wallMs } from '../lib/stats.js';

export interface StormLoadArgs {
  port: number;
  /** Device `i` is `${prefix}${floor(i / perSite)}-${i % perSite}` on site `${sitePrefix}${floor(i / perSite)}`. */
  prefix: string;
  sitePrefix: string;
  perSite: number;
  devices: number;
  secret: string;
  backlog: number;
  intervalMs: number;
  live: number;
  /** Live readings per device at most (sizes the latency arrays). */
  maxLive: number;
  window: number;
  connectConcurrency: number;
}

export interface StormLoadResult {
  firstConnectAt: number;
  lastConnackAt: number;
  backlogAckedAt: number;
  finishedAt: number;
  connected: number;
  failed: number;
  /** CONNACK 3 answers (the gateway's admission held the CONNECT too long), each retried after a reconnect period. */
  busyRefusals: number;
  firstError: string | null;
  published: number;
  acked: number;
  connectMs: { p50: number; p99: number; max: number };
  pubackMs: { p50: number; p99: number; max: number; over5s: number; samples: number };
  /** The generator's own event-loop delay max, ms: a bound on how much of a latency is the generator's. */
  loopDelayMaxMs: number;
}

const RECONNECT_PERIOD_MS = 1_000;

const runtime = childRuntime<StormLoadArgs>();
const args = runtime.args;
const reports = dustCollectorReports(512, 7);
const deviceOf = (i: number): string => `${args.prefix}${Math.floor(i / args.perSite)}-${i % args.perSite}`;
const siteOf = (i: number): string => `${args.sitePrefix}${Math.floor(i / args.perSite)}`;
const metricsOf = (i: number, k: number) => reports[(k + i * 37) % reports.length] as Record<string, number | boolean | string>;

/** Device time of the backlog: it ends one interval before this moment (set when the packets are encoded). */
let backlogEndsAt = 0;
let packets: Buffer[][] = [];

const summary = (xs: Float64Array | number[]) => {
  const sorted = Float64Array.from(xs).sort();
  const at = (p: number) =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
  return { p50: at(50), p99: at(99), max: at(100) };
};

const connections: WireConnection[] = [];
let stopRequested = false;

async function storm(): Promise<StormLoadResult> {
  const { devices, backlog, window, live, intervalMs } = args;
  const perDevice = backlog + Math.max(live, args.maxLive);
  const sentAt = new Float64Array(devices * perDevice);
  const latency = new Float64Array(devices * perDevice).fill(Number.NaN);
  const connectMs: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let failed = 0;
  let busyRefusals = 0;
  let firstError: string | null = null;
  let published = 0;
  let acked = 0;
  let lastConnackAt = 0;
  let backlogAckedAt = 0;
  let backlogsLeft = devices;
  const firstConnectAt = wallMs();

  /**
   * CONNECT until let in: a CONNACK 3 (server unavailable: the gateway's admission held it too long) is retried
   * after a reconnect period, as MQTT.js does (`reconnectPeriod`, 1 s by default), with some jitter.
   */
  const connect = async (i: number): Promise<WireConnection> => {
    for (;;) {
      try {
        return await openConnection({
          host: '127.0.0.1',
          port: args.port,
          clientId: deviceOf(i),
          username: deviceOf(i),
          password: args.secret,
          keepalive: 0,
          timeoutMs: 120_000,
        });
      } catch (error) {
        if ((error as { returnCode?: number }).returnCode !== 3) throw error;
        busyRefusals += 1;
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_PERIOD_MS * (1 + Math.random() * 0.2)));
      }
    }
  };

  /** One device from its first CONNECT to its last live PUBACK. */
  const device = async (i: number, onConnected: () => void): Promise<void> => {
    const started = wallMs();
    const connection = await connect(i);
    connections.push(connection);
    const connackAt = wallMs();
    connectMs.push(connackAt - started);
    lastConnackAt = Math.max(lastConnackAt, connackAt);
    onConnected();
    const base = i * perDevice;
    const own = packets[i] as Buffer[];
    let next = 0;
    let done = 0;
    let wake: (() => void) | null = null;
    connection.onPuback = (messageId) => {
      const k = messageId - 1;
      if (k < 0 || k >= perDevice || !Number.isNaN(latency[base + k] as number)) return;
      latency[base + k] = wallMs() - (sentAt[base + k] as number);
      done += 1;
      acked += 1;
      wake?.();
    };
    const send = (k: number, packet: Buffer): void => {
      sentAt[base + k] = wallMs();
      published += 1;
      connection.socket.write(packet);
    };
    // the backlog: `window` in flight, refilled as PUBACKs arrive
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (next < backlog && next - done < window) {
          send(next, own[next] as Buffer);
          next += 1;
        }
        if (done >= backlog) {
          wake = null;
          resolve();
        }
      };
      wake = pump;
      pump();
    });
    backlogsLeft -= 1;
    if (backlogsLeft === 0) backlogAckedAt = wallMs();
    // live: one reading per interval, stamped now, until told to stop
    const topic = telemetryTopic(siteOf(i), deviceOf(i));
    for (let j = 0; j < perDevice - backlog; j += 1) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      if (j >= live && stopRequested) break;
      const k = backlog + j;
      const acknowledged = new Promise<void>((resolve) => {
        wake = () => {
          if (!Number.isNaN(latency[base + k] as number)) resolve();
        };
      });
      send(k, encodePublish(topic, telemetryPayload(metricsOf(i, k), Date.now(), k + 1), 1, k + 1));
      await acknowledged;
    }
    wake = null;
  };

  // `connectConcurrency` CONNECTs in flight: a slot is free again when its device has its CONNACK (or failed);
  // the device's backlog and live readings run on without holding the slot.
  let nextDevice = 0;
  let inConnect = 0;
  const running: Promise<void>[] = [];
  await new Promise<void>((allLaunched) => {
    const launch = (): void => {
      while (inConnect < args.connectConcurrency && nextDevice < devices) {
        const i = nextDevice;
        nextDevice += 1;
        inConnect += 1;
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          inConnect -= 1;
          launch();
        };
        running.push(
          device(i, release)
            .catch((error: unknown) => {
              failed += 1;
              firstError ??= (error as Error).message;
            })
            .finally(release),
        );
      }
      if (nextDevice >= devices) allLaunched();
    };
    launch();
  });
  await Promise.all(running);
  loop.disable();
  const finishedAt = wallMs();
  const samples = latency.filter((x) => !Number.isNaN(x));
  const pub = summary(samples);
  let over5s = 0;
  for (const x of samples) if (x > 5_000) over5s += 1;
  return {
    firstConnectAt,
    lastConnackAt,
    backlogAckedAt,
    finishedAt,
    connected: connections.length,
    failed,
    busyRefusals,
    firstError,
    published,
    acked,
    connectMs: summary(connectMs),
    pubackMs: { ...pub, over5s, samples: samples.length },
    loopDelayMaxMs: loop.max / 1e6,
  };
}

runtime.serve({
  /** Encodes every device's backlog now: device times `intervalMs` apart, the last one interval before now. */
  prepare: () => {
    backlogEndsAt = Date.now();
    packets = Array.from({ length: args.devices }, (_, i) => {
      const topic = telemetryTopic(siteOf(i), deviceOf(i));
      return Array.from({ length: args.backlog }, (_, k) =>
        encodePublish(topic, telemetryPayload(metricsOf(i, k), backlogEndsAt - (args.backlog - k) * args.intervalMs, k + 1), 1, k + 1),
      );
    });
    return { backlogEndsAt };
  },
  storm,
  /** Devices stop going live after their next reading (and their `live` minimum). */
  stop: () => {
    stopRequested = true;
  },
  close: () => {
    for (const connection of connections) connection.close();
  },
});
runtime.ready();
