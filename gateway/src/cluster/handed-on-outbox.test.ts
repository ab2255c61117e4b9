import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../rules/src/index.js';
import { EXAMPLE_ALARM } from '../http/routes/example-alarm.js';
import { createMemoryWebhookOutbox } from '../sinks/webhook/webhook-outbox.js';
import { openVolatileStore } from '../store/volatile-store.js';
import { createSqliteWebhookOutbox } from '../store/webhook-outbox-sqlite.js';
import { handedOnOutbox } from './handed-on-outbox.js';

const event = (id: string): AlarmEvent => ({
  type: 'alarm.raised',
  id,
  timestamp: '2026-12-03T00:00:00.000Z',
  data: { alarm: EXAMPLE_ALARM },
});
const memory = () => createMemoryWebhookOutbox({ newId: () => 'dlq_1', now: () => 0, maxDeadLetters: 10 });

describe('an outbox that says when an event has left it for every subscriber (issue 16: what the next owner hands on)', () => {
  it('done once the last subscriber’s delivery is delivered or dead-lettered, not before, and once', () => {
    const done: string[] = [];
    const outbox = handedOnOutbox(memory(), ['a', 'b'], (e) => done.push(e.id));
    const toA = outbox.enqueue('a', event('evt_1'));
    const toB = outbox.enqueue('b', event('evt_1'));
    outbox.offered(event('evt_1'));
    outbox.delivered(toA);
    expect(done).toEqual([]);
    outbox.deadLetter(toB, 'exhausted', '500');
    expect(done).toEqual(['evt_1']);
    outbox.delivered(toA);
    expect(done).toEqual(['evt_1']);
  });

  it('an event no subscriber took (filters) has left at once', () => {
    const done: string[] = [];
    const outbox = handedOnOutbox(memory(), ['a'], (e) => done.push(e.id));
    outbox.offered(event('evt_2'));
    expect(done).toEqual(['evt_2']);
    const queued = outbox.enqueue('a', event('evt_3'));
    expect(done).toEqual(['evt_2']);
    outbox.delivered(queued);
    expect(done).toEqual(['evt_2', 'evt_3']);
  });

  it('deliveries waiting in the store from before a restart are counted from the start', () => {
    const before = createSqliteWebhookOutbox(openVolatileStore(), { newId: () => 'dlq_1', now: () => 0, maxDeadLetters: 10 });
    before.enqueue('a', event('evt_4'));
    before.enqueue('b', event('evt_4'));
    const done: string[] = [];
    const outbox = handedOnOutbox(before, ['a', 'b'], (e) => done.push(e.id));
    outbox.offered(event('evt_4'));
    expect(done).toEqual([]);
    outbox.delivered(outbox.pending('a')[0] as ReturnType<typeof outbox.enqueue>);
    expect(done).toEqual([]);
    outbox.delivered(outbox.pending('b')[0] as ReturnType<typeof outbox.enqueue>);
    expect(done).toEqual(['evt_4']);
  });

  it('a subscriber disabled by 410 is done with what it holds, and takes no count of what arrives while disabled', () => {
    const done: string[] = [];
    const store = createSqliteWebhookOutbox(openVolatileStore(), { newId: () => 'dlq_1', now: () => 0, maxDeadLetters: 10 });
    const outbox = handedOnOutbox(store, ['a', 'b'], (e) => done.push(e.id));
    const toA = outbox.enqueue('a', event('evt_5'));
    outbox.enqueue('b', event('evt_5'));
    outbox.delivered(toA);
    expect(done).toEqual([]);
    outbox.disable('b', { url: 'http://b', reason: 'receiver answered 410 Gone', at: 0 });
    expect(done).toEqual(['evt_5']);
    // arriving while disabled: waits at b, but the shared store need not keep it for b
    outbox.enqueue('a', event('evt_6'));
    outbox.enqueue('b', event('evt_6'));
    outbox.delivered(outbox.pending('a')[0] as ReturnType<typeof outbox.enqueue>);
    expect(done).toEqual(['evt_5', 'evt_6']);
    // enabled and delivered at last: nothing is told twice
    outbox.enable('b');
    for (const delivery of outbox.pending('b')) outbox.delivered(delivery);
    expect(done).toEqual(['evt_5', 'evt_6']);
    // a subscriber found disabled at start: what it holds, or is given, is not counted
    store.disable('b', { url: 'http://b', reason: 'gone', at: 0 });
    const later = handedOnOutbox(store, ['a', 'b'], (e) => done.push(`later ${e.id}`));
    later.enqueue('b', event('evt_7'));
    later.offered(event('evt_7'));
    expect(done.slice(2)).toEqual(['later evt_7']);
  });
});
