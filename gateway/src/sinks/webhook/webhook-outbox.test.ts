import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import { openStore } from '../../store/open-store.js';
import { createSqliteWebhookOutbox } from '../../store/webhook-outbox-sqlite.js';
import { createMemoryWebhookOutbox, type OutboxIds, type WebhookOutbox } from './webhook-outbox.js';

const event = (id: string, seq = 1): AlarmEvent =>
  ({
    type: seq === 1 ? 'alarm.raised' : 'alarm.escalated',
    id,
    timestamp: '2026-11-22T08:00:03.120Z',
    data: { alarm: { id: 'alm_1', key: 'site-a/dc-01/hopper_temp_high', seq, site: 'site-a', device: 'dc-01' } },
  }) as unknown as AlarmEvent;

type Forgotten = (count: number) => void;
const idsWith = (maxDeadLetters: number, forgotten?: Forgotten): OutboxIds => {
  let n = 0;
  return { newId: () => `dlq_${++n}`, now: () => Date.parse('2026-11-22T08:00:00Z'), maxDeadLetters, ...(forgotten ? { forgotten } : {}) };
};
const sqliteIn = (dir: string, maxDeadLetters: number, forgotten?: Forgotten): WebhookOutbox =>
  createSqliteWebhookOutbox(openStore({ dataDir: dir, synchronous: 'normal' }), idsWith(maxDeadLetters, forgotten));

/** One contract for every WebhookOutbox adapter (memory, when the store is disabled, and the local store). */
const ADAPTERS: Array<[string, (maxDeadLetters: number, forgotten?: Forgotten) => WebhookOutbox]> = [
  ['memory', (max, forgotten) => createMemoryWebhookOutbox(idsWith(max, forgotten))],
  ['sqlite', (max, forgotten) => sqliteIn(mkdtempSync(join(tmpdir(), 'webhook-outbox-')), max, forgotten)],
];

describe.each(ADAPTERS)('WebhookOutbox contract — %s', (_name, make) => {
  it('queues in order, and keeps the body as first serialised', () => {
    const outbox = make(10);
    const a = outbox.enqueue('platform', event('evt_a'));
    const b = outbox.enqueue('platform', event('evt_b', 2));
    expect((a.id as number) < (b.id as number)).toBe(true);
    expect([a.attempts, a.notBefore, a.lastError]).toEqual([0, 0, null]);
    expect(JSON.parse(a.body)).toEqual(event('evt_a'));
  });

  it("keeps a rendered body (a group robot's message) beside its event, through a dead letter and its replay", () => {
    const outbox = make(10);
    const message = JSON.stringify({ msgtype: 'markdown', markdown: { content: '## 红色告警 告警产生' } });
    const delivery = outbox.enqueue('wecom-duty', event('evt_a'), message);
    expect(delivery.body).toBe(message);
    expect(delivery.event).toEqual(event('evt_a'));
    const letter = outbox.deadLetter(delivery, 'exhausted', 'WeCom errcode 45009: api freq out of limit');
    expect(outbox.deadLetters()[0]?.event).toEqual(event('evt_a'));
    const replayed = outbox.replay(letter.id);
    expect(replayed).toMatchObject({ subscriber: 'wecom-duty', body: message, attempts: 0 });
    expect(replayed?.event).toEqual(event('evt_a'));
  });

  it('logs what each receiver took, newest first and per subscriber, the oldest forgotten past its bound', () => {
    const outbox = make(10);
    const taken = (subscriber: string, id: string, seq: number, attempts: number): void => {
      const delivery = outbox.enqueue(subscriber, event(id, seq));
      delivery.attempts = attempts;
      outbox.delivered(delivery);
    };
    taken('platform', 'evt_a', 1, 1);
    taken('dingtalk', 'evt_b', 1, 1);
    taken('platform', 'evt_c', 2, 3);
    expect(outbox.pending('platform')).toEqual([]);
    expect(outbox.deliveries('platform', 10)).toEqual([
      { eventId: 'evt_c', type: 'alarm.escalated', alarmId: 'alm_1', seq: 2, attempts: 3, deliveredAt: '2026-11-22T08:00:00.000Z' },
      { eventId: 'evt_a', type: 'alarm.raised', alarmId: 'alm_1', seq: 1, attempts: 1, deliveredAt: '2026-11-22T08:00:00.000Z' },
    ]);
    expect(outbox.deliveries('platform', 1).map((d) => d.eventId)).toEqual(['evt_c']);
    expect(outbox.deliveries('dingtalk', 10).map((d) => d.eventId)).toEqual(['evt_b']);
  });

  it('dead-letters with a reason, lists oldest first, forgets the oldest past its bound and says how many', () => {
    const forgotten: number[] = [];
    const outbox = make(2, (count) => forgotten.push(count));
    for (const id of ['evt_a', 'evt_b', 'evt_c']) {
      const delivery = outbox.enqueue('platform', event(id));
      delivery.attempts = 2;
      outbox.deadLetter(delivery, 'exhausted', 'HTTP 500');
      expect(forgotten).toEqual(id === 'evt_c' ? [1] : []);
    }
    const letters = outbox.deadLetters();
    expect(letters.map((l) => [l.event.id, l.reason, l.attempts, l.lastError])).toEqual([
      ['evt_b', 'exhausted', 2, 'HTTP 500'],
      ['evt_c', 'exhausted', 2, 'HTTP 500'],
    ]);
    expect(letters[0]).toMatchObject({ subscriber: 'platform', deadAt: '2026-11-22T08:00:00.000Z' });
  });

  it("bounds the dead letters per subscriber: one receiver's flood never forgets another's", () => {
    const forgotten: number[] = [];
    const outbox = make(2, (count) => forgotten.push(count));
    const letter = (subscriber: string, id: string) => outbox.deadLetter(outbox.enqueue(subscriber, event(id)), 'exhausted', 'HTTP 500');
    letter('regulator', 'evt_r1');
    letter('regulator', 'evt_r2');
    for (const n of [1, 2, 3, 4, 5]) letter('robot', `evt_w${n}`);
    expect(outbox.deadLetters().map((l) => `${l.subscriber} ${l.event.id}`)).toEqual([
      'regulator evt_r1',
      'regulator evt_r2',
      'robot evt_w4',
      'robot evt_w5',
    ]);
    expect(forgotten).toEqual([1, 1, 1]);
    letter('regulator', 'evt_r3');
    expect(outbox.deadLetters().map((l) => l.event.id)).toEqual(['evt_r2', 'evt_w4', 'evt_w5', 'evt_r3']);
  });

  it('replays a dead letter into the outbox from attempt zero, once; an unknown id is null', () => {
    const outbox = make(10);
    const delivery = outbox.enqueue('platform', event('evt_a'));
    delivery.attempts = 3;
    const letter = outbox.deadLetter(delivery, 'exhausted', 'HTTP 500');
    const replayed = outbox.replay(letter.id);
    expect(replayed).toMatchObject({ subscriber: 'platform', attempts: 0, body: delivery.body });
    expect(replayed?.event.id).toBe('evt_a');
    expect(outbox.deadLetters()).toEqual([]);
    expect(outbox.replay(letter.id)).toBeNull();
  });

  it('records a subscriber disabled (url, reason, since when) until it is enabled, per subscriber', () => {
    const outbox = make(10);
    expect(outbox.disabled('platform')).toBeNull();
    outbox.disable('platform', { url: 'http://a.example/hooks', reason: 'receiver answered 410 Gone', at: 1_234 });
    expect(outbox.disabled('platform')).toEqual({ url: 'http://a.example/hooks', reason: 'receiver answered 410 Gone', at: 1_234 });
    expect(outbox.disabled('other')).toBeNull();
    outbox.enable('platform');
    expect(outbox.disabled('platform')).toBeNull();
  });
});

describe('WebhookOutbox in the local store', () => {
  it('finds after a reopen what waits, in order, with its retry schedule; not what was delivered or dead-lettered', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-outbox-'));
    const before = sqliteIn(dir, 10);
    const a = before.enqueue('platform', event('evt_a'));
    const b = before.enqueue('platform', event('evt_b', 2));
    const c = before.enqueue('platform', event('evt_c'));
    const d = before.enqueue('other', event('evt_d'));
    Object.assign(a, { attempts: 2, notBefore: 1_234, lastError: 'HTTP 503' });
    before.attempted(a);
    before.delivered(c);
    before.deadLetter(d, 'not_retryable', 'HTTP 400');

    const after = sqliteIn(dir, 10);
    expect(after.pending('platform').map((p) => [p.event.id, p.attempts, p.notBefore, p.lastError, p.body])).toEqual([
      ['evt_a', 2, 1_234, 'HTTP 503', a.body],
      ['evt_b', 0, 0, null, b.body],
    ]);
    expect(after.pending('other')).toEqual([]);
    expect(after.deadLetters().map((l) => [l.event.id, l.reason])).toEqual([['evt_d', 'not_retryable']]);
  });

  it('finds after a reopen a rendered body and its event, byte for byte', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-outbox-'));
    const message = JSON.stringify({ msgtype: 'markdown', markdown: { title: '【橙色告警】', text: '### 橙色告警' } });
    const before = sqliteIn(dir, 10);
    before.enqueue('dingtalk-duty', event('evt_a'), message);
    const standard = before.enqueue('platform', event('evt_b'));
    before.deadLetter(before.enqueue('dingtalk-duty', event('evt_c')), 'not_retryable', 'x');
    before.deadLetter(before.enqueue('dingtalk-duty', event('evt_d'), message), 'not_retryable', 'DingTalk errcode 310000: sign not match');

    const after = sqliteIn(dir, 10);
    expect(after.pending('dingtalk-duty').map((p) => [p.event, p.body])).toEqual([[event('evt_a'), message]]);
    expect(after.pending('platform').map((p) => [p.event, p.body])).toEqual([[event('evt_b'), standard.body]]);
    expect(after.deadLetters().map((l) => l.event)).toEqual([event('evt_c'), event('evt_d')]);
    const letter = after.deadLetters()[1] as { id: string };
    expect(after.replay(letter.id)?.body).toBe(message);
  });

  it('finds after a reopen which subscribers are disabled, and not one enabled again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-outbox-'));
    const before = sqliteIn(dir, 10);
    before.disable('platform', { url: 'http://a.example/hooks', reason: 'receiver answered 410 Gone', at: 1_234 });
    before.disable('other', { url: 'http://b.example/hooks', reason: 'receiver answered 410 Gone', at: 5_678 });
    before.enable('other');

    const after = sqliteIn(dir, 10);
    expect(after.disabled('platform')).toEqual({ url: 'http://a.example/hooks', reason: 'receiver answered 410 Gone', at: 1_234 });
    expect(after.disabled('other')).toBeNull();
  });
});

describe('the delivery log in the local store', () => {
  it('survives a reopen and keeps only the newest maxDeliveries of all subscribers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-deliveries-'));
    const ids = { ...idsWith(10), maxDeliveries: 3 };
    const first = createSqliteWebhookOutbox(openStore({ dataDir: dir, synchronous: 'normal' }), ids);
    for (const id of ['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']) first.delivered(first.enqueue('platform', event(id)));
    const again = createSqliteWebhookOutbox(openStore({ dataDir: dir, synchronous: 'normal' }), ids);
    expect(again.deliveries('platform', 10).map((d) => d.eventId)).toEqual(['evt_5', 'evt_4', 'evt_3']);
  });
});
