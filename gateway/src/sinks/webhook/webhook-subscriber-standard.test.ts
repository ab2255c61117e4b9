import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent, AlarmEventType } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { openStore } from '../../store/open-store.js';
import { createSqliteWebhookOutbox } from '../../store/webhook-outbox-sqlite.js';
import { createMemoryWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { createWebhookSubscriber, type WebhookSubscriber } from './webhook-subscriber.js';

const event = (id: string, alarm: string, more: { type?: AlarmEventType; site?: string; severity?: string } = {}): AlarmEvent =>
  ({
    type: more.type ?? 'alarm.raised',
    id,
    timestamp: '2026-11-22T08:00:03.120Z',
    data: {
      alarm: {
        id: alarm,
        key: `site-a/dc-01/${alarm}`,
        seq: 1,
        site: more.site ?? 'site-a',
        device: 'dc-01',
        severity: more.severity ?? 'red',
      },
    },
  }) as unknown as AlarmEvent;

interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}
type Reply = { status: number; headers?: Record<string, string> } | 'hold' | 'hang';

/** A Standard Webhooks receiver on loopback: answers each request with the next scripted reply (then 204). */
async function startReceiver(replies: Reply[] = []) {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ id: (JSON.parse(body) as AlarmEvent).id, headers: request.headers, body, at: Date.now() });
      const reply = replies.shift() ?? { status: 204 };
      if (reply === 'hold') held.push(response);
      else if (reply !== 'hang') response.writeHead(reply.status, reply.headers ?? {}).end();
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

const SECRET = `whsec_${Buffer.from('subscriber-test-secret-32-bytes!').toString('base64')}`;
const standardConfig = (url: string, extra: Partial<WebhookSubscriberConfig> = {}): WebhookSubscriberConfig => ({
  id: 'platform',
  kind: 'standard',
  language: 'zh',
  url,
  secrets: [SECRET],
  filter: {},
  timeout: 2_000,
  maxAttempts: 5,
  maxQueued: 100,
  retryBaseDelay: 20,
  retryMaxDelay: 40,
  concurrency: 1,
  ...extra,
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function subscriberWith(config: WebhookSubscriberConfig, now: () => number = Date.now, outbox?: WebhookOutbox) {
  let n = 0;
  const box = outbox ?? createMemoryWebhookOutbox({ newId: () => `dlq_${++n}`, now, maxDeadLetters: 100 });
  const metrics = createGatewayMetrics({ processMetrics: false });
  const subscriber: WebhookSubscriber = createWebhookSubscriber({ config, now, metrics, log: createLogger('silent'), outbox: box });
  cleanup.push(() => subscriber.close(0));
  const deadLetters = () => box.deadLetters().map((l) => [l.event.id, l.reason, l.attempts, l.lastError]);
  const counted = async (name: 'sinkWritten' | 'sinkFailed' | 'sinkDropped') =>
    (await metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
  const queuedGauge = async () => (await metrics.sinkQueued.get()).values.find((v) => v.labels.sink === 'webhook:platform')?.value;
  return { subscriber, outbox: box, deadLetters, counted, queuedGauge };
}

describe('a Standard Webhooks subscriber (contract §5)', () => {
  it('posts the event as JSON, signed with the secret over id, timestamp and body, with its id and user agent', async () => {
    const receiver = await startReceiver();
    const { subscriber, counted } = subscriberWith(standardConfig(receiver.url));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    const [request] = receiver.received as [Received];
    expect(JSON.parse(request.body)).toEqual(event('evt_a', 'alm_a'));
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toBe('risk-gateway-webhooks/1');
    expect(request.headers['webhook-id']).toBe('evt_a');
    const timestamp = Number(request.headers['webhook-timestamp']);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(5);
    expect(Number.isInteger(timestamp)).toBe(true);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`evt_a.${timestamp}.${request.body}`).digest('base64');
    expect(request.headers['webhook-signature']).toBe(`v1,${expected}`);
    expect(subscriber.state()).toMatchObject({
      kind: 'standard',
      enabled: true,
      delivered: 1,
      failedAttempts: 0,
      queued: 0,
      inFlight: 0,
      lastError: null,
    });
    expect(await counted('sinkWritten')).toBe(1);
  });

  it('each attempt carries its own webhook-timestamp and is signed over it: a retry an hour later still verifies', async () => {
    const receiver = await startReceiver(['hold']);
    let offset = 0;
    const { subscriber } = subscriberWith(standardConfig(receiver.url), () => Date.now() + offset);
    subscriber.enqueue(event('evt_a', 'alm_a'));
    for (let n = 0; n < 200 && receiver.held.length === 0; n += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    offset = 3_600_000; // the receiver answers an hour later (the clock the subscriber signs with)
    receiver.held[0]?.writeHead(503).end();
    await subscriber.idle(5_000);
    const [first, retry] = receiver.received as [Received, Received];
    const stamp = (r: Received): number => Number(r.headers['webhook-timestamp']);
    expect(stamp(retry) - stamp(first)).toBeGreaterThanOrEqual(3_600);
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const signed = createHmac('sha256', key)
      .update(`evt_a.${stamp(retry)}.${retry.body}`)
      .digest('base64');
    expect(retry.headers['webhook-signature']).toBe(`v1,${signed}`);
  });

  it('any 2xx is delivered', async () => {
    const receiver = await startReceiver([{ status: 200 }, { status: 202 }, { status: 299 }]);
    const { subscriber, deadLetters } = subscriberWith(standardConfig(receiver.url));
    for (const alarm of ['a', 'b', 'c']) subscriber.enqueue(event(`evt_${alarm}`, alarm));
    await subscriber.idle(5_000);
    expect(subscriber.state()).toMatchObject({ delivered: 3, failedAttempts: 0 });
    expect(deadLetters()).toEqual([]);
  });

  it('5xx, 429 and 408 are retried with backoff until delivered, the same body each time', async () => {
    const receiver = await startReceiver([{ status: 503 }, { status: 429 }, { status: 408 }, { status: 500 }]);
    const { subscriber, counted, deadLetters } = subscriberWith(standardConfig(receiver.url));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_a', 'evt_a', 'evt_a', 'evt_a']);
    expect(new Set(receiver.received.map((r) => r.body)).size).toBe(1);
    for (let i = 1; i < receiver.received.length; i += 1)
      expect((receiver.received[i] as Received).at - (receiver.received[i - 1] as Received).at).toBeGreaterThanOrEqual(9);
    expect(subscriber.state()).toMatchObject({ delivered: 1, failedAttempts: 4, lastError: 'HTTP 500' });
    expect(await counted('sinkFailed')).toBe(4);
    expect(deadLetters()).toEqual([]);
  });

  it('gives up after maxAttempts and dead-letters it, saying how often and why', async () => {
    const receiver = await startReceiver(Array.from({ length: 5 }, () => ({ status: 502 })));
    const { subscriber, deadLetters, counted, queuedGauge } = subscriberWith(standardConfig(receiver.url, { maxAttempts: 3 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    expect(receiver.received).toHaveLength(3);
    expect(deadLetters()).toEqual([['evt_a', 'exhausted', 3, 'gave up after 3 attempts: HTTP 502']]);
    expect(subscriber.state()).toMatchObject({ delivered: 0, failedAttempts: 3, queued: 0, lastError: 'HTTP 502' });
    expect(await counted('sinkDropped')).toBe(1);
    expect(await queuedGauge()).toBe(0);
  });

  it('an answer refusing the body itself (400, 413, 415, 422) is not retried: dead-lettered at once; the next event still goes', async () => {
    for (const status of [400, 413, 415, 422]) {
      const receiver = await startReceiver([{ status }]);
      const { subscriber, deadLetters } = subscriberWith(standardConfig(receiver.url));
      subscriber.enqueue(event('evt_a', 'alm_a'));
      subscriber.enqueue(event('evt_b', 'alm_b'));
      await subscriber.idle(5_000);
      expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_b']);
      expect(deadLetters()).toEqual([['evt_a', 'not_retryable', 1, `not retryable: HTTP ${status}`]]);
      expect(subscriber.state()).toMatchObject({ enabled: true, delivered: 1 });
    }
  });

  it('a redirect, 401, 403 or 404 (maintenance, a secret being rotated, a deployment) is retried like a 5xx, not dead-lettered', async () => {
    for (const status of [302, 307, 401, 403, 404, 409]) {
      const receiver = await startReceiver([{ status, headers: status < 400 ? { location: '/elsewhere' } : {} }]);
      const { subscriber, deadLetters } = subscriberWith(standardConfig(receiver.url));
      subscriber.enqueue(event('evt_a', 'alm_a'));
      await subscriber.idle(5_000);
      expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_a']);
      expect(deadLetters()).toEqual([]);
      expect(subscriber.state()).toMatchObject({ delivered: 1, failedAttempts: 1, lastError: `HTTP ${status}` });
    }
  });

  it('waits as long as Retry-After says when that is longer than the backoff', async () => {
    const retryAt = Date.parse('Wed, 21 Oct 2026 07:28:10 GMT');
    const t0 = Date.now();
    // the subscriber's clock stands 300 ms before the date the receiver names
    const now = () => retryAt - 300 + (Date.now() - t0);
    const receiver = await startReceiver([{ status: 503, headers: { 'retry-after': 'Wed, 21 Oct 2026 07:28:10 GMT' } }]);
    const { subscriber } = subscriberWith(standardConfig(receiver.url), now);
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    const [first, second] = receiver.received as [Received, Received];
    expect(second.at - first.at).toBeGreaterThanOrEqual(250);
    expect(subscriber.state()).toMatchObject({ delivered: 1, failedAttempts: 1 });
  });

  it('429 (or 503 with Retry-After) holds the whole subscriber: no other event goes to that receiver before it said', async () => {
    for (const reply of [
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 429 },
    ]) {
      const receiver = await startReceiver([reply]);
      const { subscriber } = subscriberWith(standardConfig(receiver.url, { concurrency: 4, retryBaseDelay: 400, retryMaxDelay: 400 }));
      subscriber.enqueue(event('evt_a', 'alm_a'));
      await expect.poll(() => subscriber.state().failedAttempts).toBe(1);
      for (const alarm of ['alm_b', 'alm_c', 'alm_d']) subscriber.enqueue(event(`evt_${alarm}`, alarm));
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(receiver.received.map((r) => r.id)).toEqual(['evt_a']);
      await subscriber.idle(5_000);
      const [first, ...rest] = receiver.received as [Received, ...Received[]];
      expect(rest).toHaveLength(4);
      // Retry-After 1 s (at most 10 % of jitter on top), or the backoff's 200–400 ms without one
      for (const r of rest) expect(r.at - first.at).toBeGreaterThanOrEqual(reply.headers ? 950 : 150);
    }
  });

  it('a 2xx whose body trickles in past the timeout is delivered, once: the status line decides', async () => {
    const received: string[] = [];
    const server = createServer((request, response) => {
      request.on('data', () => undefined);
      request.on('end', () => {
        received.push(String(request.headers['webhook-id']));
        response.writeHead(200);
        const more = setInterval(() => response.write('.'), 50);
        response.on('close', () => clearInterval(more));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(
      () => new Promise<void>((resolve) => server.close(() => resolve())),
      () => void server.closeAllConnections(),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    const { subscriber, deadLetters } = subscriberWith(standardConfig(url, { timeout: 300 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // past the timeout and a retry's backoff
    expect(received).toEqual(['evt_a']);
    expect(subscriber.state()).toMatchObject({ delivered: 1, failedAttempts: 0 });
    expect(deadLetters()).toEqual([]);
  });

  it('a receiver that does not answer in time, or not at all, is retried; its error is kept', async () => {
    const receiver = await startReceiver(['hang']);
    const { subscriber } = subscriberWith(standardConfig(receiver.url, { timeout: 100 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    expect(receiver.received).toHaveLength(2);
    expect(subscriber.state()).toMatchObject({ delivered: 1, failedAttempts: 1 });
    expect(subscriber.state().lastError).toMatch(/timeout|aborted/i);

    const gone = await startReceiver();
    await gone.close();
    const down = subscriberWith(standardConfig(gone.url, { maxAttempts: 2 }));
    down.subscriber.enqueue(event('evt_b', 'alm_b'));
    await down.subscriber.idle(5_000);
    // the socket's own reason, naming where it tried
    const port = new URL(gone.url).port;
    expect(down.deadLetters()).toEqual([['evt_b', 'exhausted', 2, `gave up after 2 attempts: connect ECONNREFUSED 127.0.0.1:${port}`]]);
  });

  it('sends the events of one alarm one at a time in order; other alarms in parallel up to concurrency', async () => {
    const receiver = await startReceiver(['hold', 'hold', 'hold', 'hold']);
    const { subscriber } = subscriberWith(standardConfig(receiver.url, { concurrency: 2 }));
    subscriber.enqueue(event('evt_a1', 'alm_a'));
    subscriber.enqueue(event('evt_a2', 'alm_a'));
    subscriber.enqueue(event('evt_b1', 'alm_b'));
    subscriber.enqueue(event('evt_c1', 'alm_c'));
    await expect.poll(() => receiver.received.length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a1', 'evt_b1']);
    expect(subscriber.state()).toMatchObject({ inFlight: 2, queued: 4 });
    (receiver.held.shift() as ServerResponse).writeHead(204).end();
    await expect.poll(() => receiver.received.length).toBe(3);
    expect(receiver.received[2]?.id).toBe('evt_a2');
    for (const response of receiver.held.splice(0)) response.writeHead(204).end();
    await expect.poll(() => receiver.held.length).toBe(1);
    (receiver.held.shift() as ServerResponse).writeHead(204).end();
    await subscriber.idle(5_000);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a1', 'evt_b1', 'evt_a2', 'evt_c1']);
    expect(subscriber.state()).toMatchObject({ delivered: 4, queued: 0, inFlight: 0 });
  });

  it('a retry of one alarm does not hold back another alarm', async () => {
    const receiver = await startReceiver([{ status: 503 }]);
    const { subscriber } = subscriberWith(standardConfig(receiver.url, { retryBaseDelay: 400, retryMaxDelay: 400 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    subscriber.enqueue(event('evt_b', 'alm_b'));
    await expect.poll(() => receiver.received.length).toBe(2);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_b']);
    await subscriber.idle(5_000);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_b', 'evt_a']);
    expect((receiver.received[2] as Received).at - (receiver.received[0] as Received).at).toBeGreaterThanOrEqual(150);
  });

  it('a receiver down for a while with 2,000 events waiting: each alarm in order once it is back, without a scan of the queue per answer', async () => {
    const count = 2_000;
    const alarms = count / 2;
    // Each alarm's raise fails at its first attempt (retried a minute later); everything else is taken.
    const failed = new Set<string>();
    const received: string[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { id } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlarmEvent;
        received.push(id);
        const fails = id.endsWith('_raised') && !failed.has(id);
        failed.add(id);
        response.writeHead(fails ? 503 : 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // Counts every read of a delivery's event (the alarm it belongs to is read through it).
    let reads = 0;
    let skipped = 0;
    const now = () => Date.now() + skipped;
    const box = createMemoryWebhookOutbox({ newId: () => 'dlq', now, maxDeadLetters: 100 });
    const counting: WebhookOutbox = {
      ...box,
      enqueue: (...args) =>
        new Proxy(box.enqueue(...args), {
          get(target, field, receiver) {
            if (field === 'event') reads += 1;
            return Reflect.get(target, field, receiver);
          },
        }),
    };
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    const config = standardConfig(url, { concurrency: 8, maxQueued: count + 1, retryBaseDelay: 60_000, retryMaxDelay: 60_000 });
    const { subscriber, deadLetters } = subscriberWith(config, now, counting);
    for (let i = 0; i < alarms; i++) subscriber.enqueue(event(`evt_${i}_raised`, `alm_${i}`));
    // The clears wait behind their raises: an alarm's events go one at a time.
    for (let i = 0; i < alarms; i++) subscriber.enqueue(event(`evt_${i}_cleared`, `alm_${i}`, { type: 'alarm.cleared' }));
    await expect.poll(() => subscriber.state().failedAttempts, { timeout: 30_000 }).toBe(alarms);
    expect(subscriber.state()).toMatchObject({ delivered: 0, queued: count, inFlight: 0 });
    skipped = 61_000; // a minute on: every retry is due, found by the next event's arrival
    subscriber.enqueue(event('evt_next', 'alm_next'));
    await subscriber.idle(30_000);
    expect(subscriber.state()).toMatchObject({ delivered: count + 1, queued: 0, failedAttempts: alarms });
    expect(deadLetters()).toEqual([]);
    for (let i = 0; i < alarms; i += 97) {
      const order = received.filter((id) => id.startsWith(`evt_${i}_`));
      expect(order).toEqual([`evt_${i}_raised`, `evt_${i}_raised`, `evt_${i}_cleared`]);
    }
    // About 15 reads an event. Scanning what waits after every answer (the subscriber before its delivery queue) read
    // them 547,000 times here, growing with the square of what waits.
    expect(reads).toBeLessThan(50 * count);
  }, 60_000);

  it('410 Gone disables it: what waits stays in the outbox, what arrives joins it; enabled, all of it goes, each alarm in seq order', async () => {
    const receiver = await startReceiver([{ status: 410 }]);
    let clock = Date.parse('2026-11-22T08:00:00Z');
    const { subscriber, deadLetters, outbox } = subscriberWith(standardConfig(receiver.url), () => clock);
    subscriber.enqueue(event('evt_a1', 'alm_a'));
    subscriber.enqueue(event('evt_b1', 'alm_b'));
    await subscriber.idle(5_000);
    expect(subscriber.state()).toMatchObject({
      enabled: false,
      disabledReason: 'receiver answered 410 Gone',
      disabledAt: '2026-11-22T08:00:00.000Z',
      lastError: 'HTTP 410 Gone',
      queued: 2,
      inFlight: 0,
    });
    expect(outbox.disabled('platform')).toEqual({ url: receiver.url, reason: 'receiver answered 410 Gone', at: clock });
    clock += 1_000;
    subscriber.enqueue(event('evt_a2', 'alm_a'));
    subscriber.enqueue(event('evt_c1', 'alm_c'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(subscriber.state().queued).toBe(4);
    expect(deadLetters()).toEqual([]);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a1']);

    subscriber.enable();
    expect(subscriber.state()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    expect(outbox.disabled('platform')).toBeNull();
    subscriber.enqueue(event('evt_d1', 'alm_d'));
    await subscriber.idle(5_000);
    // the 410'd event again first, then the rest in the order they came (concurrency 1)
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a1', 'evt_a1', 'evt_b1', 'evt_a2', 'evt_c1', 'evt_d1']);
    expect(subscriber.state()).toMatchObject({ queued: 0, delivered: 5 });
  });

  it('while disabled, keeps at most maxQueued: the oldest beyond that are dead-lettered queue_full', async () => {
    const receiver = await startReceiver([{ status: 410 }]);
    const { subscriber, deadLetters } = subscriberWith(standardConfig(receiver.url, { maxQueued: 3 }));
    subscriber.enqueue(event('evt_1', 'alm_1'));
    await subscriber.idle(5_000);
    for (const n of [2, 3, 4, 5]) subscriber.enqueue(event(`evt_${n}`, `alm_${n}`));
    expect(subscriber.state().queued).toBe(3);
    expect(deadLetters().map(([id, reason]) => `${id} ${reason}`)).toEqual(['evt_1 queue_full', 'evt_2 queue_full']);
  });

  it('a replayed dead letter is adopted and sent', async () => {
    const receiver = await startReceiver([{ status: 400 }]);
    const { subscriber, outbox } = subscriberWith(standardConfig(receiver.url));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await subscriber.idle(5_000);
    const [letter] = outbox.deadLetters();
    const replayed = outbox.replay(letter?.id as string);
    subscriber.adopt(replayed as NonNullable<typeof replayed>);
    await subscriber.idle(5_000);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_a']);
    expect(subscriber.state().delivered).toBe(1);
  });

  it('resumes what it finds in the outbox, oldest first, dead-lettering the oldest beyond a lowered maxQueued', async () => {
    const receiver = await startReceiver();
    const db = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'subscriber-standard-')), synchronous: 'normal' });
    cleanup.push(() => {
      db.close();
    });
    const outbox = createSqliteWebhookOutbox(db, { newId: () => 'dlq_1', now: Date.now, maxDeadLetters: 100 });
    for (const alarm of ['a', 'b', 'c'])
      outbox.enqueue('platform', event(`evt_${alarm}`, alarm), JSON.stringify(event(`evt_${alarm}`, alarm)));
    const { subscriber, deadLetters } = subscriberWith(standardConfig(receiver.url, { maxQueued: 2 }), Date.now, outbox);
    expect(deadLetters()).toEqual([['evt_a', 'queue_full', 0, 'queue full']]);
    await subscriber.idle(5_000);
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_b', 'evt_c']);
  });

  it('matches events by site, severity and type; no filter matches all', async () => {
    const receiver = await startReceiver();
    const all = subscriberWith(standardConfig(receiver.url)).subscriber;
    const filtered = subscriberWith(
      standardConfig(receiver.url, { filter: { sites: ['site-a'], severities: ['red', 'orange'], types: ['alarm.raised'] } }),
    ).subscriber;
    const cases: Array<[AlarmEvent, boolean]> = [
      [event('e1', 'a'), true],
      [event('e2', 'a', { site: 'site-b' }), false],
      [event('e3', 'a', { severity: 'blue' }), false],
      [event('e4', 'a', { severity: 'orange' }), true],
      [event('e5', 'a', { type: 'alarm.cleared' }), false],
    ];
    for (const [e, expected] of cases) {
      expect(filtered.matches(e), e.id).toBe(expected);
      expect(all.matches(e)).toBe(true);
    }
  });

  it('an answer the outbox cannot record (the store full) stops the gateway through onStoreFailure, not an unhandled rejection', async () => {
    const receiver = await startReceiver([{ status: 204 }, { status: 503 }]);
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    let n = 0;
    const memory = createMemoryWebhookOutbox({ newId: () => `dlq_${++n}`, now: Date.now, maxDeadLetters: 100 });
    const outbox: WebhookOutbox = {
      ...memory,
      delivered: () => {
        throw full;
      },
      attempted: () => {
        throw full;
      },
    };
    const failures: Error[] = [];
    const failing = (id: string) => {
      const made = createWebhookSubscriber({
        config: standardConfig(receiver.url, { id }),
        now: Date.now,
        metrics: createGatewayMetrics({ processMetrics: false }),
        log: createLogger('silent'),
        outbox,
        onStoreFailure: (error) => failures.push(error),
      });
      cleanup.push(() => made.close(0));
      return made;
    };
    const subscriber = failing('platform');
    subscriber.enqueue(event('evt_a', 'alm_a')); // 204: its row cannot be let go
    await expect.poll(() => failures.length).toBe(1);
    expect(failures).toEqual([full]);
    // no further attempt: what the outbox holds is sent after the restart
    subscriber.enqueue(event('evt_b', 'alm_b'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a']);

    // a retry that cannot be recorded, likewise
    const second = failing('second');
    second.enqueue(event('evt_c', 'alm_c')); // 503
    await expect.poll(() => failures.length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100)); // past its retry's backoff: none made
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a', 'evt_c']);
  });

  it('idle waits at most its timeout; closed, it takes nothing more', async () => {
    const receiver = await startReceiver(['hold']);
    const { subscriber } = subscriberWith(standardConfig(receiver.url));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    const started = Date.now();
    await subscriber.idle(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(subscriber.state()).toMatchObject({ inFlight: 1, delivered: 0 });
    await subscriber.close(50);
    subscriber.enqueue(event('evt_b', 'alm_b'));
    expect(subscriber.state().queued).toBe(1);
    (receiver.held.shift() as ServerResponse).writeHead(204).end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.received.map((r) => r.id)).toEqual(['evt_a']);
  });
});
