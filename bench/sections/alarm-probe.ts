/**
 * Section 3's probe, in a process of its own: a webhook receiver (verifying the Standard Webhooks
 * signature), an SSE client of `/api/alarms/stream`, and probe devices that each publish one hopper
 * temperature over the 70 °C orange threshold. Latency = arrival of the `alarm.raised` event of that
 * device − the moment its PUBLISH was written to the socket. One raise per device: the alarm book's
 * flapping detection would hold back a device raised and cleared many times.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { childRuntime } from '../lib/child.js';
import { encodePublish, openConnection, type WireConnection } from '../lib/mqtt-wire.js';
import { telemetryTopic } from '../lib/payloads.js';
import { sleep, wallMs } from '../lib/stats.js';

export interface AlarmProbeArgs {
  webhookSecret: string;
}

interface Arrival {
  webhook?: number;
  sse?: number;
}

const runtime = childRuntime<AlarmProbeArgs>();
const verifier = new Webhook(runtime.args.webhookSecret);
const arrivals = new Map<string, Arrival>();
let badSignatures = 0;
let webhookEvents = 0;

const arrivalOf = (device: string): Arrival => {
  let arrival = arrivals.get(device);
  if (!arrival) {
    arrival = {};
    arrivals.set(device, arrival);
  }
  return arrival;
};

interface EventBody {
  type: string;
  data: { alarm: { device: string; rule: string } };
}
const isProbeRaise = (event: EventBody): boolean => event.type === 'alarm.raised' && event.data.alarm.rule === 'hopper_temp_high';

const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const at = wallMs();
    const body = Buffer.concat(chunks).toString('utf8');
    response.writeHead(204).end();
    webhookEvents += 1;
    try {
      verifier.verify(body, request.headers as Record<string, string>);
    } catch {
      badSignatures += 1;
      return;
    }
    const event = JSON.parse(body) as EventBody;
    if (isProbeRaise(event)) arrivalOf(event.data.alarm.device).webhook ??= at;
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const address = receiver.address();
const receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;

/** Reads the SSE stream and notes when each probe's raise arrives. */
async function followStream(httpUrl: string, token: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(`${httpUrl}/api/alarms/stream`, { headers: { authorization: `Bearer ${token}` }, signal });
  if (!response.ok || !response.body) throw new Error(`SSE stream answered HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body.getReader();
  const pump = async (): Promise<void> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const at = wallMs();
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (data) {
          const event = JSON.parse(data) as EventBody;
          if (isProbeRaise(event)) arrivalOf(event.data.alarm.device).sse ??= at;
        }
        end = buffer.indexOf('\n\n');
      }
    }
  };
  pump().catch(() => undefined);
}

runtime.serve({
  /** Connects every probe device, then raises one alarm per device every `intervalMs`; answers with per-probe latencies. */
  run: async (message) => {
    const { port, httpUrl, token, site, devices, secret, intervalMs } = message as {
      port: number;
      httpUrl: string;
      token: string;
      site: string;
      devices: string[];
      secret: string;
      intervalMs: number;
    };
    const abort = new AbortController();
    await followStream(httpUrl, token, abort.signal);
    const connections: WireConnection[] = [];
    for (const device of devices)
      connections.push(await openConnection({ host: '127.0.0.1', port, clientId: device, username: device, password: secret }));
    await sleep(200);
    const sentAt = new Map<string, number>();
    for (const [i, device] of devices.entries()) {
      const packet = encodePublish(
        telemetryTopic(site, device),
        Buffer.from(JSON.stringify({ seq: 1, metrics: { hopper_temp: 72.5 } })),
        0,
        1,
      );
      const connection = connections[i] as WireConnection;
      sentAt.set(device, wallMs());
      connection.socket.write(packet);
      await sleep(intervalMs);
    }
    const deadline = wallMs() + 5_000;
    while (wallMs() < deadline && devices.some((d) => arrivals.get(d)?.webhook === undefined || arrivals.get(d)?.sse === undefined))
      await sleep(20);
    abort.abort();
    for (const connection of connections) connection.close();
    const webhookMs: number[] = [];
    const sseMs: number[] = [];
    let missing = 0;
    let missingSse = 0;
    for (const device of devices) {
      const sent = sentAt.get(device) as number;
      const arrival = arrivals.get(device);
      if (arrival?.webhook !== undefined) webhookMs.push(arrival.webhook - sent);
      else missing += 1;
      if (arrival?.sse !== undefined) sseMs.push(arrival.sse - sent);
      else missingSse += 1;
    }
    return { webhookMs, sseMs, missing, missingSse, badSignatures, webhookEvents };
  },
  close: () => {
    receiver.close();
  },
});
runtime.ready({ receiverUrl });
