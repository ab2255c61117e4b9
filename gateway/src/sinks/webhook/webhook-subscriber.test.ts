import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import { createLogger } from '../../observability/logger.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { openStore } from '../../store/open-store.js';
import { createSqliteWebhookOutbox } from '../../store/webhook-outbox-sqlite.js';
import { createMemoryWebhookOutbox, type WebhookOutbox } from './webhook-outbox.js';
import { createWebhookSubscriber, type WebhookSubscriber } from './webhook-subscriber.js';

const event = (id: string, alarm: string): AlarmEvent =>
  ({
    type: 'alarm.raised',
    id,
    timestamp: '2026-11-22T08:00:03.120Z',
    data: {
      alarm: {
        id: alarm,
        key: `site-a/dc-01/${alarm}`,
        seq: 1,
        site: 'site-a',
        device: 'dc-01',
        rule: 'hopper_temp_high',
        severity: 'red',
        previousSeverity: null,
        value: 85,
        threshold: 80,
        unit: '°C',
        message: 'hot',
        messageZh: `灰斗温度过高 ${alarm}`,
        acknowledgedBy: null,
        resolvedBy: null,
        note: null,
      },
    },
  }) as unknown as AlarmEvent;

interface Request {
  url: string;
  body: string;
  at: number;
}

/** A group robot on loopback: answers each request with the next scripted errcode (then 0), after `delayMs`. */
async function startRobot(errcodes: number[] = [], delayMs = 0) {
  const requests: Request[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ url: request.url ?? '', body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      const errcode = errcodes.shift() ?? 0;
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ errcode, errmsg: errcode === 0 ? 'ok' : `scripted ${errcode}` }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const robotConfig = (url: string, extra: Partial<WebhookSubscriberConfig> = {}): WebhookSubscriberConfig => ({
  id: 'duty-group',
  kind: 'wecom',
  language: 'zh',
  url,
  filter: {},
  timeout: 5_000,
  maxAttempts: 5,
  maxQueued: 100,
  retryBaseDelay: 20,
  retryMaxDelay: 50,
  concurrency: 1,
  ...extra,
});

describe('a group-robot subscriber: errcodes, rate limits and pacing', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const subscriberWith = (
    config: WebhookSubscriberConfig,
    now: () => number = Date.now,
    store: 'memory' | 'sqlite' = 'memory',
  ): { subscriber: WebhookSubscriber; outbox: WebhookOutbox } => {
    let n = 0;
    const ids = { newId: () => `dlq_${++n}`, now, maxDeadLetters: 100 };
    const outbox =
      store === 'memory'
        ? createMemoryWebhookOutbox(ids)
        : createSqliteWebhookOutbox(openStore({ dataDir: mkdtempSync(join(tmpdir(), 'subscriber-')), synchronous: 'normal' }), ids);
    const subscriber = createWebhookSubscriber({
      config,
      now,
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
      outbox,
    });
    cleanup.push(() => subscriber.close(0));
    return { subscriber, outbox };
  };

  it('a rate-limit answer (HTTP 200, errcode 45009) holds every message for rateLimitDelay, then sends them, the same bytes again', async () => {
    const robot = await startRobot([45009]);
    cleanup.push(robot.close);
    const { subscriber } = subscriberWith(robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`, { rateLimitDelay: 400 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    subscriber.enqueue(event('evt_b', 'alm_b'));
    await subscriber.idle(5_000);

    expect(robot.requests).toHaveLength(3);
    const [first, ...rest] = robot.requests as [Request, ...Request[]];
    for (const later of rest) expect(later.at - first.at).toBeGreaterThanOrEqual(380);
    expect(robot.requests.filter((r) => r.body === first.body)).toHaveLength(2);
    expect(subscriber.state()).toMatchObject({ delivered: 2, failedAttempts: 1, lastError: 'WeCom errcode 45009: scripted 45009' });
  });

  it('a permanent errcode (40058 content too long) dead-letters that message at once with the errcode and errmsg', async () => {
    const robot = await startRobot([40058]);
    cleanup.push(robot.close);
    const { subscriber, outbox } = subscriberWith(robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    subscriber.enqueue(event('evt_b', 'alm_b'));
    await subscriber.idle(5_000);
    expect(robot.requests).toHaveLength(2);
    expect(outbox.deadLetters().map((l) => [l.event.id, l.reason, l.attempts, l.lastError])).toEqual([
      ['evt_a', 'not_retryable', 1, 'not retryable: WeCom errcode 40058: scripted 40058'],
    ]);
    expect(subscriber.state()).toMatchObject({ enabled: true, delivered: 1 });
  });

  it('an unknown robot key (93000 invalid webhook url) disables the subscriber: one request, not one per waiting message', async () => {
    const robot = await startRobot([93000, 93000, 93000]);
    cleanup.push(robot.close);
    const { subscriber, outbox } = subscriberWith(robotConfig(`${robot.base}/cgi-bin/webhook/send?key=wrong`));
    for (const alarm of ['alm_a', 'alm_b', 'alm_c']) subscriber.enqueue(event(`evt_${alarm}`, alarm));
    await subscriber.idle(5_000);
    expect(robot.requests).toHaveLength(1);
    // all three wait for the key to be fixed and the subscriber enabled
    expect(outbox.deadLetters()).toEqual([]);
    expect(subscriber.state()).toMatchObject({
      queued: 3,
      enabled: false,
      disabledReason: 'robot is gone: WeCom errcode 93000: scripted 93000',
      lastError: 'WeCom errcode 93000: scripted 93000',
    });
    expect(outbox.disabled('duty-group')?.reason).toBe('robot is gone: WeCom errcode 93000: scripted 93000');
  });

  it('starts at most maxPerMinute messages a minute; the rest wait for the minute to pass', async () => {
    const robot = await startRobot();
    cleanup.push(robot.close);
    let clock = Date.parse('2026-11-22T08:00:00Z');
    const url = `${robot.base}/robot/send?access_token=t1`;
    const { subscriber } = subscriberWith(robotConfig(url, { kind: 'dingtalk', maxPerMinute: 2, concurrency: 4 }), () => clock);
    for (const alarm of ['alm_a', 'alm_b', 'alm_c']) subscriber.enqueue(event(`evt_${alarm}`, alarm));
    await expect.poll(() => subscriber.state().delivered).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(robot.requests).toHaveLength(2);
    expect(subscriber.state().queued).toBe(1);

    clock += 59_000;
    subscriber.enqueue(event('evt_alm_d', 'alm_d'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(robot.requests).toHaveLength(2);

    clock += 1_000;
    subscriber.enqueue(event('evt_alm_e', 'alm_e'));
    await expect.poll(() => subscriber.state().delivered).toBe(4);
    expect(subscriber.state().queued).toBe(1);
  });

  it('a restart keeps to a rate-limit hold and to the messages of the minute already sent (the store keeps the pacing)', async () => {
    const robot = await startRobot([45009]);
    cleanup.push(robot.close);
    let clock = Date.parse('2026-11-22T08:00:00Z');
    const store = openStore({ dataDir: mkdtempSync(join(tmpdir(), 'subscriber-')), synchronous: 'normal' });
    const outbox = createSqliteWebhookOutbox(store, { newId: () => 'dlq_1', now: () => clock, maxDeadLetters: 100 });
    const config = robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`, { rateLimitDelay: 60_000, maxPerMinute: 2, concurrency: 4 });
    const start = (): WebhookSubscriber => {
      const subscriber = createWebhookSubscriber({
        config,
        now: () => clock,
        metrics: createGatewayMetrics({ processMetrics: false }),
        log: createLogger('silent'),
        outbox,
      });
      cleanup.push(() => subscriber.close(0));
      return subscriber;
    };
    const first = start();
    first.enqueue(event('evt_a', 'alm_a'));
    await expect.poll(() => first.state().failedAttempts).toBe(1);
    await first.close(0);
    // restarted 10 s into the robot's minute of penalty: nothing goes, the waiting message nor a new one
    clock += 10_000;
    const second = start();
    second.enqueue(event('evt_b', 'alm_b'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(robot.requests).toHaveLength(1);
    // the hold over: one a message of each alarm; then the minute's two are spent, across a restart too
    clock += 51_000;
    second.enqueue(event('evt_c', 'alm_c'));
    await expect.poll(() => second.state().delivered).toBe(2);
    await second.close(0);
    const third = start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(robot.requests).toHaveLength(3);
    expect(third.state().queued).toBe(1);
    clock += 60_000;
    third.enqueue(event('evt_d', 'alm_d'));
    await expect.poll(() => third.state().delivered).toBe(2);
  });

  it('under its rate bound a robot sends the most severe alarm waiting first: a red gas alarm does not queue behind yellow ones', async () => {
    const robot = await startRobot();
    cleanup.push(robot.close);
    let clock = Date.parse('2026-11-22T08:00:00Z');
    const url = `${robot.base}/robot/send?access_token=t1`;
    const { subscriber } = subscriberWith(robotConfig(url, { kind: 'dingtalk', maxPerMinute: 2, concurrency: 1 }), () => clock);
    const ofSeverity = (id: string, alarm: string, severity: AlarmEvent['data']['alarm']['severity']): AlarmEvent => {
      const raised = event(id, alarm);
      return { ...raised, data: { alarm: { ...raised.data.alarm, severity } } };
    };
    for (const n of [1, 2, 3, 4]) subscriber.enqueue(ofSeverity(`evt_y${n}`, `alm_y${n}`, 'yellow'));
    subscriber.enqueue(ofSeverity('evt_red', 'alm_h2s', 'red'));
    await expect.poll(() => subscriber.state().delivered).toBe(2);
    // the first yellow went at once; the red was next of the minute's two, ahead of three yellow queued before it
    const sent = robot.requests.map((request) => (JSON.parse(request.body).markdown?.text ?? request.body) as string);
    expect(sent[1]).toContain('alm_h2s');
    clock += 60_000;
    subscriber.enqueue(ofSeverity('evt_y5', 'alm_y5', 'yellow'));
    await expect.poll(() => subscriber.state().delivered).toBe(4);
  });

  it('closing waits for the attempt in flight: its answer is recorded, nothing is left waiting', async () => {
    const robot = await startRobot([], 300);
    cleanup.push(robot.close);
    const { subscriber, outbox } = subscriberWith(robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`), Date.now, 'sqlite');
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await expect.poll(() => robot.requests.length).toBe(1);
    await subscriber.close(60_000);
    expect(subscriber.state()).toMatchObject({ delivered: 1, inFlight: 0, queued: 0 });
    expect(outbox.pending('duty-group')).toEqual([]);
  });

  it('a full queue dead-letters the oldest waiting message, never the one being sent', async () => {
    const robot = await startRobot([], 300);
    cleanup.push(robot.close);
    const { subscriber, outbox } = subscriberWith(robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`, { maxQueued: 2 }));
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await expect.poll(() => robot.requests.length).toBe(1);
    subscriber.enqueue(event('evt_b', 'alm_b'));
    subscriber.enqueue(event('evt_c', 'alm_c'));
    await subscriber.idle(5_000);
    expect(outbox.deadLetters().map((l) => [l.event.id, l.reason])).toEqual([['evt_b', 'queue_full']]);
    expect(robot.requests.map((r) => (JSON.parse(r.body) as { markdown: { content: string } }).markdown.content)).toEqual([
      expect.stringContaining('alm_a'),
      expect.stringContaining('alm_c'),
    ]);
    expect(subscriber.state()).toMatchObject({ delivered: 2, queued: 0 });
  });

  it('closing does not wait for a retry due later: the delivery stays in the outbox with its attempt counted', async () => {
    const robot = await startRobot([-1]);
    cleanup.push(robot.close);
    const config = robotConfig(`${robot.base}/cgi-bin/webhook/send?key=k1`, { retryBaseDelay: 3_600_000, retryMaxDelay: 3_600_000 });
    const { subscriber, outbox } = subscriberWith(config, Date.now, 'sqlite');
    subscriber.enqueue(event('evt_a', 'alm_a'));
    await expect.poll(() => subscriber.state().failedAttempts).toBe(1);
    await subscriber.close(600_000); // a close that waited for the retry would outlive the test's timeout
    expect(robot.requests).toHaveLength(1);
    expect(outbox.pending('duty-group').map((d) => [d.event.id, d.attempts])).toEqual([['evt_a', 1]]);
  });

  it('shows its kind, and its url without the robot key or token', () => {
    const { subscriber } = subscriberWith(robotConfig('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx'));
    expect(subscriber.state()).toMatchObject({ kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***' });
  });
});
