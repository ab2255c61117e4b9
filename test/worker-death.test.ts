import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../gateway/src/sinks/influx/local-influxd.js';
import { type GatewayProcess, startGatewayProcess, writeGatewayConfig } from './helpers/gateway-process.js';
import { queryInflux } from './helpers/influx-query.js';
import { exposedMetric } from './helpers/metrics-text.js';
import { telemetryTopicOf } from './helpers/mqtt-device.js';
import { DUST_DEVICES, eventually, freshDatabase } from './helpers/test-gateway.js';

/**
 * The Node inspector of a process (`--inspect=127.0.0.1:0`), driven over its WebSocket with the Chrome DevTools
 * Protocol: the supported way to stop a thread at a chosen statement and end it, without test hooks in the gateway.
 */
class Inspector {
  private nextId = 1;
  private readonly answers = new Map<string, (message: any) => void>();
  private readonly listeners = new Set<(method: string, params: any) => void>();
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.id !== undefined) return this.answers.get(`main:${message.id}`)?.(message);
      if (message.method === 'NodeWorker.receivedMessageFromWorker') {
        const inner = JSON.parse(message.params.message);
        if (inner.id !== undefined) return this.answers.get(`${message.params.sessionId}:${inner.id}`)?.(inner);
        for (const listen of this.listeners) listen(inner.method, { ...inner.params, sessionId: message.params.sessionId });
        return;
      }
      for (const listen of this.listeners) listen(message.method, message.params);
    });
  }

  static async open(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new Inspector(socket);
  }

  on(listen: (method: string, params: any) => void): void {
    this.listeners.add(listen);
  }

  /** A CDP command to the main thread, or (with `sessionId`) to a worker thread through the `NodeWorker` domain. */
  async send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> {
    const id = this.nextId++;
    const answer = new Promise<any>((resolve) => this.answers.set(`${sessionId ?? 'main'}:${id}`, resolve));
    if (sessionId === undefined) this.socket.send(JSON.stringify({ id, method, params }));
    else {
      const message = JSON.stringify({ id, method, params });
      this.socket.send(JSON.stringify({ id: this.nextId++, method: 'NodeWorker.sendMessageToWorker', params: { sessionId, message } }));
    }
    const reply = await answer;
    if (reply.error) throw new Error(`inspector: ${method}: ${reply.error.message}`);
    return reply.result;
  }

  /** A CDP command to a worker thread, not waiting for an answer (the thread may end before it answers). */
  post(method: string, params: Record<string, unknown>, sessionId: string): void {
    const message = JSON.stringify({ id: this.nextId++, method, params });
    this.socket.send(JSON.stringify({ id: this.nextId++, method: 'NodeWorker.sendMessageToWorker', params: { sessionId, message } }));
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * Through the process's inspector: finds the lane's worker (not the module-loader threads of `--import tsx`) and sets
 * a breakpoint on its handling of a batch, so that the next PUBLISH is held there, its verdict and PUBACK owed.
 * `paused()` waits until the worker stopped there.
 */
async function breakOnNextBatch(inspectorUrl: string) {
  const inspector = await Inspector.open(inspectorUrl);
  const workers: Array<{ sessionId: string; workerInfo: { url: string } }> = [];
  const scripts: Array<{ sessionId: string; scriptId: string; url: string }> = [];
  const pauses: Array<{ sessionId: string; hitBreakpoints?: string[]; callFrames: Array<{ callFrameId: string }> }> = [];
  inspector.on((method, params) => {
    if (method === 'NodeWorker.attachedToWorker') workers.push(params);
    if (method === 'Debugger.scriptParsed') scripts.push(params);
    if (method === 'Debugger.paused') pauses.push(params);
  });
  await inspector.send('NodeWorker.enable', { waitForDebuggerOnStart: false });
  const lanes = await eventually('the telemetry worker attached', () => {
    const found = workers.filter((w) => !w.workerInfo.url.startsWith('node:internal/'));
    return found.length > 0 ? found : undefined;
  });
  // Other threads may attach too (a loader's hooks thread under load): the lane is the one running worker-thread.
  for (const lane of lanes) await inspector.send('Debugger.enable', {}, lane.sessionId);
  const laneScript = await eventually('the lane worker script', () => {
    const found = scripts.filter((script) => /worker-thread\.(ts|js)$/.test(script.url));
    return found.length > 0 ? found : undefined;
  }).then((found) => {
    expect(new Set(found.map((script) => script.sessionId)).size, 'one thread runs the lane').toBe(1);
    return found[0]!;
  });
  const { sessionId } = laneScript;
  const { scriptSource } = await inspector.send('Debugger.getScriptSource', { scriptId: laneScript.scriptId }, sessionId);
  // The statement of the worker that judges the batches it took from its inbox (tsx's output may be one line).
  const source = scriptSource as string;
  const judging = /verdicts\s*=\s*judgeAll\(/.exec(source);
  expect(judging, 'where the worker thread judges its batches').not.toBeNull();
  const at = judging!.index;
  const lineNumber = source.slice(0, at).split('\n').length - 1;
  const columnNumber = at - (source.lastIndexOf('\n', at - 1) + 1);
  await inspector.send('Debugger.setBreakpoint', { location: { scriptId: laneScript.scriptId, lineNumber, columnNumber } }, sessionId);
  const paused = () => eventually('the worker stopped on the batch', () => pauses.find((p) => (p.hitBreakpoints ?? []).length > 0));
  return { inspector, sessionId, paused };
}

const reading = (seq: number) => ({ ts: Date.parse('2026-11-22T10:00:00Z') + seq * 1_000, seq, metrics: { hopper_temp: 30 + seq } });

describe('the telemetry worker dies (end to end, the gateway process)', () => {
  const gateways: GatewayProcess[] = [];
  let device: MqttClient | undefined;
  afterAll(async () => {
    device?.end(true);
    await Promise.all(gateways.map((g) => g.stop()));
  });

  it('exits 1 without acknowledging the QoS 1 publish in flight, which the device redelivers after the restart and is stored once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-worker-death-'));
    const database = freshDatabase();
    // A fixed MQTT port, so the device reconnects to the restarted gateway at the same address.
    const port = await freePort();
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      `mqtt: { tcp: { host: 127.0.0.1, port: ${port} } }`,
      `influx: { mode: url, url: "${inject('influxUrl')}", database: ${database}, flushInterval: 100 }`,
      'lane: { thread: worker }',
    ]);
    const first = await startGatewayProcess(config, { nodeArgs: ['--inspect=127.0.0.1:0'] });
    gateways.push(first);
    const inspectorUrl = /Debugger listening on (ws:\S+)/.exec(first.stderr())?.[1];
    expect(inspectorUrl, first.stderr()).toBeDefined();

    // The device: a stock mqtt.js client that keeps unacknowledged QoS 1 publishes and resends them on reconnect.
    device = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      clientId: 'dc-01',
      username: 'dc-01',
      password: 'secret-dc-01',
      clean: false,
      reconnectPeriod: 100,
      connectTimeout: 5_000,
    });
    device.on('error', () => undefined); // refused reconnects while the gateway is down
    await new Promise((resolve) => device!.once('connect', resolve));
    const topic = telemetryTopicOf('site-a', 'dc-01');
    await device.publishAsync(topic, JSON.stringify(reading(1)), { qos: 1 });

    const { inspector, sessionId, paused: stopped } = await breakOnNextBatch(inspectorUrl!);

    let acknowledged = false;
    const inFlight = device.publishAsync(topic, JSON.stringify(reading(2)), { qos: 1 }).then(() => {
      acknowledged = true;
    });
    const paused = await stopped();
    // The worker ends as a crash would end it, in the middle of the batch.
    inspector.post(
      'Debugger.evaluateOnCallFrame',
      { callFrameId: paused.callFrames[0]!.callFrameId, expression: 'process.exit(70)' },
      sessionId,
    );
    inspector.post('Debugger.resume', {}, sessionId);
    // A process started with --inspect waits at exit for its debugger to disconnect.
    inspector.close();

    const exitCode = await Promise.race([
      first.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running 15 s after its telemetry worker died'), 15_000).unref()),
    ]);
    expect(exitCode).toBe(1);
    expect(acknowledged).toBe(false);
    const fatal = first.logs.find((entry) => entry.msg === 'gateway cannot continue');
    expect(JSON.stringify(fatal?.err)).toContain('telemetry worker exited with code 70');

    // The supervisor restarts the gateway; the device reconnects and redelivers the unacknowledged publish.
    const second = await startGatewayProcess(config);
    gateways.push(second);
    await inFlight;
    expect(acknowledged).toBe(true);
    const rows = await eventually('both readings in InfluxDB', async () => {
      const found = await queryInflux(database, 'SELECT "seq", "hopper_temp" FROM telemetry WHERE "device" = \'dc-01\'');
      return found.length >= 2 ? found : undefined;
    });
    // Stored once each: the redelivered reading 2 is not doubled, nothing else appeared.
    expect(rows.map((row) => [row.seq, row.hopper_temp])).toEqual([
      [1, 31],
      [2, 32],
    ]);
    // The restarted gateway judged the redelivered reading once: one accepted, nothing rejected.
    const metrics = await (await fetch(`${second.httpUrl}/metrics`)).text();
    expect(exposedMetric(metrics, 'gateway_readings_accepted_total')).toBe(1);
    expect(exposedMetric(metrics, 'gateway_ingest_rejections_total')).toBe(0);
    await second.stop();
    expect(await second.exited).toBe(0);
  }, 90_000);

  it('a worker that hangs (stopped in a batch, alive): /readyz says so after 30 s, /metrics still answers; it answers again and all is well', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-worker-hang-'));
    const config = await writeGatewayConfig(dir, DUST_DEVICES, [
      'mqtt: { tcp: { host: 127.0.0.1, port: 0 } }',
      'influx: { mode: off }',
      'lane: { thread: worker }',
    ]);
    const gateway = await startGatewayProcess(config, { nodeArgs: ['--inspect=127.0.0.1:0'] });
    gateways.push(gateway);
    const inspectorUrl = /Debugger listening on (ws:\S+)/.exec(gateway.stderr())?.[1];
    expect(inspectorUrl, gateway.stderr()).toBeDefined();
    const readyz = async (): Promise<{ status: number; reasons: string[] }> => {
      const response = await fetch(`${gateway.httpUrl}/readyz`);
      return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons };
    };
    const metric = async (name: string): Promise<number> => exposedMetric(await (await fetch(`${gateway.httpUrl}/metrics`)).text(), name);
    const unanswered = (): Promise<number> => metric('gateway_lane_unanswered_seconds');
    const client = mqtt.connect(gateway.mqttUrls[0] as string, { clientId: 'dc-01', username: 'dc-01', password: 'secret-dc-01' });
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('connect', resolve));
    const topic = telemetryTopicOf('site-a', 'dc-01');
    await client.publishAsync(topic, JSON.stringify(reading(1)), { qos: 1 });
    expect(await readyz()).toEqual({ status: 200, reasons: [] });

    const { inspector, sessionId, paused } = await breakOnNextBatch(inspectorUrl!);
    let acknowledged = false;
    const held = client.publishAsync(topic, JSON.stringify(reading(2)), { qos: 1 }).then(() => {
      acknowledged = true;
    });
    await paused();
    const notReady = await eventually(
      '/readyz failing on the lane',
      async () => {
        const answer = await readyz();
        return answer.status === 503 ? answer : undefined;
      },
      45_000,
    );
    expect(notReady.reasons).toHaveLength(1);
    expect(notReady.reasons[0]).toMatch(/^lane: not answering for (3\d|4\d) s$/);
    // the worker's own metrics cannot come: the main thread's do, this one among them
    expect(await unanswered()).toBeGreaterThanOrEqual(30);
    // the publish held in the stopped batch: how long one arriving now would wait, for an alert before the 30 s
    expect(await metric('gateway_lane_delay_seconds')).toBeGreaterThanOrEqual(30);
    expect(gateway.logs.filter((entry) => entry.msg === 'telemetry lane not answering')).toHaveLength(1);
    expect(acknowledged).toBe(false);

    await inspector.send('Debugger.resume', {}, sessionId);
    inspector.close();
    await held;
    await eventually('/readyz ready again', async () => ((await readyz()).status === 200 ? true : undefined), 10_000);
    await eventually('the heartbeat answered', async () => ((await unanswered()) < 2 ? true : undefined), 10_000);
    expect(gateway.logs.some((entry) => entry.msg === 'telemetry lane answering again')).toBe(true);
    client.end(true);
  }, 120_000);
});
