import { mkdtempSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { openStore, type StoreDatabase } from '../../store/open-store.js';
import { createSqliteWebhookOutbox } from '../../store/webhook-outbox-sqlite.js';
import { createMemoryWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { createWebhookSink, type WebhookSink } from './webhook-sink.js';

const event = (id: string, alarm: string): AlarmEvent =>
  ({
    type: 'alarm.raised',
    id,
    timestamp: '2026-11-22T08:00:03.120Z',
    data: { alarm: { id: alarm, key: `site-a/dc-01/${alarm}`, seq: 1, site: 'site-a', device: 'dc-01', severity: 'orange' } },
  }) as unknown as AlarmEvent;

/** A real HTTP receiver: `answer` decides each request's status by its event id; 'hold' keeps it until `release`. */
async function startReceiver(answer: (eventId: string) => number | 'hold') {
  const received: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmEvent).id;
      received.push(id);
      const status = answer(id);
      if (status === 'hold') held.push(response);
      else response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const subscriberConfig = (url: string, concurrency = 1): WebhookSubscriberConfig => ({
  id: 'platform',
  kind: 'standard',
  language: 'zh',
  url,
  secrets: [`whsec_${Buffer.from('sink-test-secret-32-bytes-long!!').toString('base64')}`],
  filter: {},
  timeout: 5_000,
  maxAttempts: 5,
  maxQueued: 100,
  retryBaseDelay: 50,
  retryMaxDelay: 100,
  concurrency,
});

describe('webhook sink over the local store: a subscriber disabled by 410 Gone', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  let clock = Date.parse('2026-11-22T08:00:00Z');
  /** A gateway's life over the store in `dir`: the sink as `gateway.ts` builds it, with a clock that moves. */
  const life = (dir: string, config: WebhookSubscriberConfig): { sink: WebhookSink; db: StoreDatabase } => {
    const db = openStore({ dataDir: dir, synchronous: 'normal' });
    let n = 0;
    const now = () => clock;
    const sink = createWebhookSink({
      subscribers: [config],
      now,
      outbox: createSqliteWebhookOutbox(db, { newId: () => `dlq_${++n}_${clock}`, now, maxDeadLetters: 100 }),
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });
    cleanup.push(async () => {
      await sink.close();
      if (db.open) db.close();
    });
    return { sink, db };
  };
  const restart = async (before: { sink: WebhookSink; db: StoreDatabase }): Promise<void> => {
    await before.sink.close();
    before.db.close();
    clock += 60_000;
  };

  it('stays disabled after a restart (reason and time kept, nothing sent, what waits and arrives kept); enabled, sends it and stays enabled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-sink-'));
    let gone = true;
    const receiver = await startReceiver(() => (gone ? 410 : 204));
    cleanup.push(receiver.close);
    const config = subscriberConfig(receiver.url);

    const first = life(dir, config);
    first.sink.deliver(event('evt_1', 'alm_a'));
    await first.sink.idle(5_000);
    const disabled = first.sink.subscribers()[0];
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'receiver answered 410 Gone' });
    expect(disabled?.disabledAt).toBe(new Date(clock).toISOString());
    await restart(first);

    gone = false; // the receiver would take it now: only an operator's enable may send again
    const second = life(dir, config);
    expect(second.sink.subscribers()[0]).toMatchObject({
      enabled: false,
      disabledReason: disabled?.disabledReason,
      disabledAt: disabled?.disabledAt,
    });
    expect(second.sink.status().reason).toBe('disabled subscribers: platform');
    second.sink.deliver(event('evt_2', 'alm_b'));
    await second.sink.idle(1_000);
    expect(receiver.received).toEqual(['evt_1']);
    expect(second.sink.deadLetters()).toEqual([]);
    expect(second.sink.subscribers()[0]).toMatchObject({ queued: 2 });

    expect(second.sink.enable('platform')).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    await second.sink.idle(5_000);
    expect(receiver.received).toEqual(['evt_1', 'evt_1', 'evt_2']);
    await restart(second);
    const third = life(dir, config);
    expect(third.sink.subscribers()[0]).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, queued: 0 });
    third.sink.deliver(event('evt_3', 'alm_c'));
    await third.sink.idle(5_000);
    expect(receiver.received).toEqual(['evt_1', 'evt_1', 'evt_2', 'evt_3']);
    expect(third.sink.subscribers()[0]).toMatchObject({ delivered: 1, queued: 0 });
  });

  it('is enabled at start when its configured url is no longer the one that answered 410', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-sink-'));
    const old = await startReceiver(() => 410);
    const moved = await startReceiver(() => 204);
    cleanup.push(old.close, moved.close);

    const first = life(dir, subscriberConfig(old.url));
    first.sink.deliver(event('evt_1', 'alm_a'));
    await first.sink.idle(5_000);
    expect(first.sink.subscribers()[0]?.enabled).toBe(false);
    await restart(first);

    const second = life(dir, subscriberConfig(old.url));
    expect(second.sink.subscribers()[0]?.enabled).toBe(false);
    await restart(second);

    const third = life(dir, subscriberConfig(moved.url));
    expect(third.sink.subscribers()[0]).toMatchObject({ enabled: true, disabledReason: null });
    third.sink.deliver(event('evt_2', 'alm_b'));
    await third.sink.idle(5_000);
    // what waited since the 410 goes to the new url first
    expect(moved.received).toEqual(['evt_1', 'evt_2']);
  });

  it('an attempt in flight when another alarm gets 410 is settled by its own answer: delivered; the 410 one waits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-sink-'));
    const receiver = await startReceiver((id) => (id === 'evt_a' ? 'hold' : 410));
    cleanup.push(receiver.close);
    const { sink } = life(dir, subscriberConfig(receiver.url, 2));
    sink.deliver(event('evt_a', 'alm_a')); // held by the receiver
    await expect.poll(() => receiver.held.length).toBe(1);
    sink.deliver(event('evt_b', 'alm_b')); // 410: disables the subscriber while evt_a is in flight
    await expect.poll(() => sink.subscribers()[0]?.enabled).toBe(false);
    expect(sink.subscribers()[0]).toMatchObject({ queued: 2, inFlight: 1 });

    receiver.held[0]?.writeHead(204).end();
    await sink.idle(5_000);
    expect(sink.subscribers()[0]).toMatchObject({ delivered: 1, queued: 1, inFlight: 0 });
    expect(sink.deadLetters()).toEqual([]);
  });
});

describe('webhook sink: an event queued inside the alarm commit (enqueue, then send)', () => {
  const now = () => Date.parse('2026-11-22T08:00:00Z');
  const ids = { newId: () => 'dlq_1', now, maxDeadLetters: 10 };
  const sinkOf = (config: WebhookSubscriberConfig, outbox: WebhookOutbox): WebhookSink =>
    createWebhookSink({
      subscribers: [config],
      now,
      outbox,
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });

  it('is in the outbox and queued at once, and no request leaves until send(): that commit could still roll back', async () => {
    const receiver = await startReceiver(() => 204);
    const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'webhook-sink-')), synchronous: 'normal' });
    const outbox = createSqliteWebhookOutbox(db, ids);
    const sink = sinkOf(subscriberConfig(receiver.url), outbox);
    try {
      sink.enqueue(event('evt_1', 'alm_a'));
      sink.enqueue(event('evt_2', 'alm_b'));
      expect(outbox.pending('platform').map((delivery) => delivery.event.id)).toEqual(['evt_1', 'evt_2']);
      expect(sink.subscribers()[0]).toMatchObject({ queued: 2, delivered: 0 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.received).toEqual([]);
      sink.send();
      await sink.idle(4_000);
      expect(receiver.received).toEqual(['evt_1', 'evt_2']);
      expect(sink.subscribers()[0]).toMatchObject({ queued: 0, delivered: 2 });
      expect(outbox.pending('platform')).toEqual([]);
    } finally {
      await sink.close();
      db.close();
      await receiver.close();
    }
  });

  it('keeps the queue as deliver would: what is dispatched while held is safe from maxQueued, as if already sent', async () => {
    const receiver = await startReceiver(() => 204);
    const sink = sinkOf({ ...subscriberConfig(receiver.url, 4), maxQueued: 1 }, createMemoryWebhookOutbox(ids));
    try {
      // two alarms' events in one commit, room for one waiting: both go out at once, as two deliver() calls would send them
      sink.enqueue(event('evt_1', 'alm_a'));
      sink.enqueue(event('evt_2', 'alm_b'));
      sink.send();
      await sink.idle(4_000);
      expect(receiver.received.sort()).toEqual(['evt_1', 'evt_2']);
      expect(sink.deadLetters()).toEqual([]);
    } finally {
      await sink.close();
      await receiver.close();
    }
  });
});
