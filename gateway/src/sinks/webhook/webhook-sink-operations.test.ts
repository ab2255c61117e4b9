import { mkdtempSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { openStore } from '../../store/open-store.js';
import { createSqliteWebhookOutbox } from '../../store/webhook-outbox-sqlite.js';
import { createMemoryWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { createWebhookSink } from './webhook-sink.js';

/** A real HTTP receiver; each subscriber posts to its own path, `answer` decides the status per path ('hold' keeps it). */
async function startReceiver(answer: (path: string) => number | 'hold') {
  const received: Array<{ path: string; id: string }> = [];
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      received.push({ path, id: (JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmEvent).id });
      const status = answer(path);
      if (status === 'hold') held.push(response);
      else response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, held };
}

const subscriber = (id: string, base: string, more: Partial<WebhookSubscriberConfig> = {}): WebhookSubscriberConfig => ({
  id,
  kind: 'standard',
  language: 'zh',
  url: `${base}/${id}`,
  secrets: [`whsec_${Buffer.from('sink-test-secret-32-bytes-long!!').toString('base64')}`],
  filter: {},
  timeout: 5_000,
  maxAttempts: 3,
  maxQueued: 100,
  retryBaseDelay: 20,
  retryMaxDelay: 40,
  concurrency: 1,
  ...more,
});

const event = (id: string, type = 'alarm.raised'): AlarmEvent =>
  ({
    type,
    id,
    timestamp: '2026-11-22T08:00:03.120Z',
    data: { alarm: { id: `alm_${id}`, key: 'site-a/dc-01/r', seq: 1, site: 'site-a', device: 'dc-01', severity: 'red' } },
  }) as unknown as AlarmEvent;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** A sink as the gateway builds it, over `outbox` (memory unless given), with its JSON log lines kept. */
function sinkWith(configs: WebhookSubscriberConfig[], outbox?: WebhookOutbox) {
  let n = 0;
  const box = outbox ?? createMemoryWebhookOutbox({ newId: () => `dlq_${++n}`, now: Date.now, maxDeadLetters: 100 });
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const metrics = createGatewayMetrics({ processMetrics: false });
  const sink = createWebhookSink({ subscribers: configs, now: Date.now, outbox: box, metrics, log: createLogger('info', destination) });
  cleanup.push(() => sink.close());
  return { sink, outbox: box, logLines, metrics };
}

describe('webhook sink health, as /readyz shows it', () => {
  it('is named webhooks and ready with nothing waiting and no reason while every subscriber is enabled', () => {
    const { sink } = sinkWith([subscriber('a', 'http://127.0.0.1:9'), subscriber('b', 'http://127.0.0.1:9')]);
    expect(sink.name).toBe('webhooks');
    expect(sink.status()).toEqual({ name: 'webhooks', ready: true, reason: null, queued: 0 });
  });

  it('stays ready but names the subscribers disabled by 410 Gone, and only those', async () => {
    const receiver = await startReceiver((path) => (path === '/c' ? 204 : 410));
    const { sink } = sinkWith([subscriber('a', receiver.base), subscriber('c', receiver.base), subscriber('b', receiver.base)]);
    sink.deliver(event('evt_1'));
    await sink.idle(5_000);
    // the event waits for a and b to be enabled
    expect(sink.status()).toEqual({ name: 'webhooks', ready: true, reason: 'disabled subscribers: a, b', queued: 2 });
  });

  it('counts what waits over every subscriber', async () => {
    let holding = true;
    const receiver = await startReceiver(() => (holding ? 'hold' : 204));
    const { sink } = sinkWith([subscriber('a', receiver.base), subscriber('b', receiver.base)]);
    sink.deliver(event('evt_1'));
    sink.deliver(event('evt_2'));
    await expect.poll(() => receiver.held.length).toBe(2); // one in flight per subscriber
    const each = sink.subscribers().map((s) => s.queued);
    expect(each).toEqual([2, 2]);
    expect(sink.status().queued).toBe(4);
    holding = false;
    for (const response of receiver.held) response.writeHead(204).end();
  });
});

describe('replaying a dead letter', () => {
  it('is not_found for an id that is no dead letter', () => {
    const { sink } = sinkWith([subscriber('a', 'http://127.0.0.1:9')]);
    expect(sink.replay('dlq_nope')).toEqual({ ok: false, error: 'not_found' });
  });

  it('sends the event again to its subscriber, enabled again (and logged); the dead letter is gone', async () => {
    const answers = [422, 410];
    const receiver = await startReceiver(() => answers.shift() ?? 204);
    const { sink, logLines } = sinkWith([subscriber('a', receiver.base)]);
    sink.deliver(event('evt_1')); // 422: dead-lettered, not retryable
    await sink.idle(5_000);
    sink.deliver(event('evt_2')); // 410: disabled, it waits
    await sink.idle(5_000);
    const [letter] = sink.deadLetters();
    expect(letter?.subscriber).toBe('a');
    expect(sink.subscribers()[0]).toMatchObject({ enabled: false, queued: 1 });

    expect(sink.replay(letter?.id ?? '')).toEqual({ ok: true });
    await sink.idle(5_000);
    // what waited first, then the replayed letter
    expect(receiver.received.map((r) => [r.path, r.id])).toEqual([
      ['/a', 'evt_1'],
      ['/a', 'evt_2'],
      ['/a', 'evt_2'],
      ['/a', 'evt_1'],
    ]);
    expect(sink.subscribers()[0]).toMatchObject({ enabled: true, delivered: 2, queued: 0 });
    expect(sink.deadLetters()).toEqual([]);
    expect(logLines.filter((l) => l.msg === 'webhook subscriber enabled').map((l) => l.subscriber)).toEqual(['a']);
  });

  it('goes to the subscriber of that dead letter, among several', async () => {
    let gone = true;
    const receiver = await startReceiver(() => (gone ? 422 : 204));
    const { sink } = sinkWith([subscriber('a', receiver.base), subscriber('b', receiver.base)]);
    sink.deliver(event('evt_1'));
    await sink.idle(5_000);
    const letters = sink.deadLetters();
    expect(letters.map((l) => l.subscriber).sort()).toEqual(['a', 'b']);
    gone = false;
    receiver.received.splice(0);
    for (const letter of [...letters].reverse()) {
      expect(sink.replay(letter.id)).toEqual({ ok: true });
      await sink.idle(5_000);
      expect(receiver.received.pop()).toEqual({ path: `/${letter.subscriber}`, id: 'evt_1' });
    }
  });

  it('says so, the dead letter kept, when its subscriber is no longer configured; replayed to another with `to`', async () => {
    let refuse = true;
    const receiver = await startReceiver(() => (refuse ? 422 : 204));
    const before = sinkWith([subscriber('old', receiver.base)]);
    before.sink.deliver(event('evt_1'));
    await before.sink.idle(5_000);
    await before.sink.close();
    const [letter] = before.sink.deadLetters();
    expect(letter?.subscriber).toBe('old');

    const after = sinkWith([subscriber('new', receiver.base)], before.outbox);
    expect(after.sink.replay(letter?.id ?? '')).toEqual({ ok: false, error: 'not_configured', subscriber: 'old' });
    expect(after.sink.deadLetters().map((l) => l.id)).toEqual([letter?.id]);
    expect(after.sink.replay(letter?.id ?? '', 'elsewhere')).toEqual({ ok: false, error: 'not_configured', subscriber: 'elsewhere' });
    expect(receiver.received).toHaveLength(1);
    refuse = false;
    expect(after.sink.replay(letter?.id ?? '', 'new')).toEqual({ ok: true });
    await after.sink.idle(5_000);
    expect(receiver.received.at(-1)).toEqual({ path: '/new', id: 'evt_1' });
    expect(after.sink.deadLetters()).toEqual([]);
  });

  it('what waited in the store for a subscriber renamed or removed since is dead-lettered at start (subscriber_removed), not left unseen', async () => {
    const receiver = await startReceiver((path) => (path === '/regulator' ? 503 : 204));
    const store = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'sink-stranded-')), synchronous: 'normal' });
    let n = 0;
    const outbox = createSqliteWebhookOutbox(store, { newId: () => `dlq_${++n}`, now: Date.now, maxDeadLetters: 100 });
    const before = sinkWith([subscriber('regulator', receiver.base, { retryBaseDelay: 60_000, retryMaxDelay: 60_000 })], outbox);
    before.sink.deliver(event('evt_1'));
    before.sink.deliver(event('evt_2'));
    await expect.poll(() => receiver.received.length).toBe(2);
    await before.sink.close();

    // renamed in the config: the two waiting are dead letters of the old name, said in the log, replayable to the new
    const after = sinkWith([subscriber('provincial-platform', receiver.base)], outbox);
    expect(after.sink.deadLetters().map((l) => [l.subscriber, l.event.id, l.reason])).toEqual([
      ['regulator', 'evt_1', 'subscriber_removed'],
      ['regulator', 'evt_2', 'subscriber_removed'],
    ]);
    expect(after.logLines.find((l) => l.msg === 'webhook deliveries waiting for a subscriber no longer configured')).toMatchObject({
      subscriber: 'regulator',
      deadLettered: 2,
    });
    // counted as every dead letter is: by reason, and as the webhook sink's drops (what dashboards and alerts read)
    const counted = async (name: string) => (await after.metrics.registry.getSingleMetric(name)?.get())?.values;
    expect(await counted('gateway_webhook_dead_letters_total')).toContainEqual(
      expect.objectContaining({ labels: { subscriber: 'regulator', reason: 'subscriber_removed' }, value: 2 }),
    );
    expect(await counted('gateway_sink_dropped_total')).toContainEqual(
      expect.objectContaining({ labels: { sink: 'webhook', reason: 'dead_letter' }, value: 2 }),
    );
    for (const letter of after.sink.deadLetters()) expect(after.sink.replay(letter.id, 'provincial-platform')).toEqual({ ok: true });
    await after.sink.idle(5_000);
    expect(receiver.received.slice(2)).toEqual([
      { path: '/provincial-platform', id: 'evt_1' },
      { path: '/provincial-platform', id: 'evt_2' },
    ]);
  });
});

describe('closing with the store off (deliveries kept in memory)', () => {
  it('sends what waits before it resolves, and the closed subscribers send nothing more', async () => {
    const receiver = await startReceiver(() => 'hold');
    const { sink } = sinkWith([subscriber('a', receiver.base), subscriber('b', receiver.base)]);
    for (const id of ['evt_1', 'evt_2', 'evt_3']) sink.deliver(event(id));
    // the receiver answers each request 20 ms after it arrives
    const answering = setInterval(() => {
      for (const response of receiver.held.splice(0)) response.writeHead(204).end();
    }, 20);
    cleanup.push(() => clearInterval(answering));
    await sink.close();
    const took = (path: string) => receiver.received.filter((r) => r.path === path).map((r) => r.id);
    expect(took('/a')).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(took('/b')).toEqual(['evt_1', 'evt_2', 'evt_3']);
    expect(sink.status().queued).toBe(0);

    sink.deliver(event('evt_4'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.received).toHaveLength(6);
  });

  it('waits for a delivery that waits for its retry', async () => {
    let answers = 0;
    const receiver = await startReceiver(() => (++answers === 1 ? 503 : 204));
    const { sink } = sinkWith([subscriber('a', receiver.base, { retryBaseDelay: 150, retryMaxDelay: 150 })]);
    sink.deliver(event('evt_1'));
    await expect.poll(() => sink.subscribers()[0]).toMatchObject({ failedAttempts: 1, inFlight: 0, queued: 1 });
    await sink.close();
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_1', 'evt_1']);
    expect(sink.subscribers()[0]).toMatchObject({ delivered: 1, queued: 0 });
  });
});

describe('an escalation step without a chase', () => {
  it('goes to the subscribers by their filters alone', async () => {
    const receiver = await startReceiver(() => 204);
    const { sink } = sinkWith([subscriber('a', receiver.base)]);
    sink.deliver(event('evt_chased', 'alarm.chased'));
    await sink.idle(5_000);
    expect(receiver.received).toEqual([{ path: '/a', id: 'evt_chased' }]);
  });
});
