/**
 * PUBACK latency: one device publishing QoS 1 readings one at a time (each waits for its PUBACK), through the
 * gateway with the durable store on and off, worker and main thread. What a device waits for an acknowledgement
 * — with the store, that includes the commit that makes the reading durable.
 */
import mqtt from 'mqtt';
import { spawnChild } from '../lib/child.js';
import { percentile } from '../lib/stats.js';

export type LatencyTarget = { thread: 'worker' | 'main'; store: boolean };

export interface PubackRun {
  thread: 'worker' | 'main';
  store: boolean;
  run: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

export interface PubackContext {
  influxUrl: string;
  secret: string;
  secretHash: string;
  runs: number;
  messages: number;
  log(line: string): void;
}

const TARGETS: LatencyTarget[] = [
  { thread: 'worker', store: true },
  { thread: 'worker', store: false },
  { thread: 'main', store: true },
  { thread: 'main', store: false },
];

export async function runPubackLatency(ctx: PubackContext): Promise<PubackRun[]> {
  const out: PubackRun[] = [];
  for (const target of TARGETS) {
    const site = `lat-${target.thread}-${target.store ? 'store' : 'memory'}`;
    const server = await spawnChild('servers/gateway-server.ts', {
      influxUrl: ctx.influxUrl,
      database: 'bench_puback',
      groups: [{ site, prefix: `${site}-d`, count: ctx.runs, secretHash: ctx.secretHash }],
      token: 'bench-viewer-token-0001',
      thread: target.thread,
      store: target.store,
    });
    try {
      for (let run = 0; run < ctx.runs; run += 1) {
        const id = `${site}-d${run}`;
        const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${Number(server.info.port)}`, {
          clientId: id,
          username: id,
          password: ctx.secret,
          protocolVersion: 4,
          reconnectPeriod: 0,
        });
        const topic = `sites/${site}/devices/${id}/telemetry`;
        const samples: number[] = [];
        const start = Date.now() - 3_600_000;
        for (let i = 0; i < ctx.messages; i += 1) {
          const payload = JSON.stringify({ seq: i, ts: start + i * 100, metrics: { hopper_temp: 30 + (i % 10), diff_pressure: 1200 } });
          const sent = performance.now();
          await client.publishAsync(topic, payload, { qos: 1 });
          // the first hundred warm up the JIT and the connection
          if (i >= 100) samples.push(performance.now() - sent);
        }
        await client.endAsync();
        const result = { ...target, run: run + 1, samples: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
        ctx.log(
          `  puback ${target.thread} store ${target.store ? 'on' : 'off'} run ${run + 1}: p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms`,
        );
        out.push(result);
      }
    } finally {
      await server.stop();
    }
  }
  return out;
}
