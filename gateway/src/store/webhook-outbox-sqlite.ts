import type { AlarmEvent } from '../../../rules/src/index.js';
import {
  DEFAULT_MAX_DELIVERIES,
  type DeadLetter,
  type DeadLetterReason,
  type DeliveryRecord,
  deliveryRecordOf,
  type OutboxDelivery,
  type OutboxIds,
  type SubscriberDisablement,
  type WebhookOutbox,
} from '../sinks/webhook/webhook-outbox.js';
import type { StoreDatabase } from './open-store.js';

type OutboxRow = [id: number, body: string, event: string | null, attempts: number, notBefore: number, lastError: string | null];
type LetterRow = [
  id: string,
  subscriber: string,
  body: string,
  event: string | null,
  attempts: number,
  reason: string,
  lastError: string,
  deadAt: string,
];

/** The `event` column: NULL when the body is the event's JSON itself, else the event (the body is a message rendered from it). */
const eventColumn = (event: AlarmEvent, body: string): string | null => {
  const json = JSON.stringify(event);
  return json === body ? null : json;
};
const eventOf = (event: string | null, body: string): AlarmEvent => JSON.parse(event ?? body) as AlarmEvent;

/**
 * The webhook outbox in the local store (the durable WebhookOutbox adapter): an event is a row from the moment
 * it is queued until its receiver takes it or it is dead-lettered, so a restart — SIGTERM or kill -9 — sends
 * it again with the same id, in the same order, its retry schedule where it was. Dead letters survive too, and
 * so does a subscriber's disabled state (410 Gone).
 * Calls after the store is closed (an attempt finishing during shutdown) change nothing: the row stays and
 * is sent again after the restart.
 */
export function createSqliteWebhookOutbox(db: StoreDatabase, ids: OutboxIds): WebhookOutbox {
  const pendingOf = db
    .prepare('SELECT id, body, event, attempts, not_before, last_error FROM webhook_outbox WHERE subscriber = ? ORDER BY id')
    .raw(true);
  const insert = db.prepare('INSERT INTO webhook_outbox (subscriber, body, event, attempts, not_before) VALUES (?, ?, ?, ?, ?)');
  const update = db.prepare('UPDATE webhook_outbox SET attempts = ?, not_before = ?, last_error = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM webhook_outbox WHERE id = ?');
  const waitingSubscribers = db.prepare('SELECT DISTINCT subscriber FROM webhook_outbox').pluck();
  const insertLetter = db.prepare(
    'INSERT INTO webhook_dead_letter (id, subscriber, body, event, attempts, reason, last_error, dead_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // a subscriber's own oldest, past its bound: one receiver's flood never forgets another's letters
  const trimLetters = db.prepare(
    `DELETE FROM webhook_dead_letter WHERE subscriber = @subscriber AND rank <= (
       SELECT rank FROM webhook_dead_letter WHERE subscriber = @subscriber ORDER BY rank DESC LIMIT 1 OFFSET @keep)`,
  );
  const allLetters = db
    .prepare('SELECT id, subscriber, body, event, attempts, reason, last_error, dead_at FROM webhook_dead_letter ORDER BY rank')
    .raw(true);
  const oneLetter = db.prepare('SELECT subscriber, body, event FROM webhook_dead_letter WHERE id = ?').raw(true);
  const removeLetter = db.prepare('DELETE FROM webhook_dead_letter WHERE id = ?');
  const disabledOf = db.prepare('SELECT url, reason, disabled_at AS at FROM webhook_subscriber_disabled WHERE subscriber = ?');
  const disable = db.prepare(
    'INSERT OR REPLACE INTO webhook_subscriber_disabled (subscriber, url, reason, disabled_at) VALUES (?, ?, ?, ?)',
  );
  const enable = db.prepare('DELETE FROM webhook_subscriber_disabled WHERE subscriber = ?');
  const pacingOf = db.prepare('SELECT hold_until, started FROM webhook_subscriber_pacing WHERE subscriber = ?').raw(true);
  const pace = db.prepare('INSERT OR REPLACE INTO webhook_subscriber_pacing (subscriber, hold_until, started) VALUES (?, ?, ?)');

  const logDelivery = db.prepare(
    'INSERT INTO webhook_delivery (subscriber, event_id, type, alarm_id, seq, attempts, delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const trimDeliveries = db.prepare('DELETE FROM webhook_delivery WHERE rank <= ?');
  const deliveriesOf = db
    .prepare(
      'SELECT event_id, type, alarm_id, seq, attempts, delivered_at FROM webhook_delivery WHERE subscriber = ? ORDER BY rank DESC LIMIT ?',
    )
    .raw(true);
  /** The row leaves the outbox and the delivery log gets its entry, in one commit. */
  const takeDelivery = db.transaction((id: number, subscriber: string, record: DeliveryRecord) => {
    remove.run(id);
    const rank = Number(
      logDelivery.run(subscriber, record.eventId, record.type, record.alarmId, record.seq, record.attempts, record.deliveredAt)
        .lastInsertRowid,
    );
    const keep = ids.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
    if (rank > keep) trimDeliveries.run(rank - keep);
  });

  const enqueue = (subscriber: string, body: string, event: AlarmEvent, eventJson: string | null): OutboxDelivery => {
    const id = Number(insert.run(subscriber, body, eventJson, 0, 0).lastInsertRowid);
    return { id, subscriber, event, body, attempts: 0, notBefore: 0, lastError: null };
  };

  const toDeadLetter = db.transaction((delivery: OutboxDelivery, letter: DeadLetter) => {
    remove.run(delivery.id);
    const event = eventColumn(delivery.event, delivery.body);
    insertLetter.run(letter.id, letter.subscriber, delivery.body, event, letter.attempts, letter.reason, letter.lastError, letter.deadAt);
    return trimLetters.run({ subscriber: letter.subscriber, keep: ids.maxDeadLetters }).changes;
  });

  const replay = db.transaction((id: string): OutboxDelivery | null => {
    const row = oneLetter.get(id) as [string, string, string | null] | undefined;
    if (!row) return null;
    removeLetter.run(id);
    const [subscriber, body, event] = row;
    return enqueue(subscriber, body, eventOf(event, body), event);
  });

  return {
    durable: true,
    pending: (subscriber) =>
      (pendingOf.all(subscriber) as OutboxRow[]).map(([id, body, event, attempts, notBefore, lastError]) => ({
        id,
        subscriber,
        event: eventOf(event, body),
        body,
        attempts,
        notBefore,
        lastError,
      })),
    enqueue: (subscriber, event, body) =>
      body === undefined
        ? enqueue(subscriber, JSON.stringify(event), event, null)
        : enqueue(subscriber, body, event, eventColumn(event, body)),
    attempted(delivery) {
      if (db.open) update.run(delivery.attempts, delivery.notBefore, delivery.lastError, delivery.id);
    },
    delivered(delivery) {
      if (!db.open) return;
      const record = deliveryRecordOf(delivery, ids.now());
      takeDelivery(delivery.id, delivery.subscriber, record);
    },
    deliveries(subscriber, limit) {
      if (!db.open) return [];
      return (deliveriesOf.all(subscriber, limit) as Array<[string, string, string, number, number, string]>).map(
        ([eventId, type, alarmId, seq, attempts, deliveredAt]) => ({ eventId, type, alarmId, seq, attempts, deliveredAt }),
      );
    },
    deadLetter(delivery, reason: DeadLetterReason, lastError) {
      const letter: DeadLetter = {
        id: ids.newId(),
        subscriber: delivery.subscriber,
        event: delivery.event,
        attempts: delivery.attempts,
        reason,
        lastError,
        deadAt: new Date(ids.now()).toISOString(),
      };
      const forgotten = db.open ? toDeadLetter(delivery, letter) : 0;
      if (forgotten > 0) ids.forgotten?.(forgotten);
      return letter;
    },
    deadLetters: () =>
      (allLetters.all() as LetterRow[]).map(([id, subscriber, body, event, attempts, reason, lastError, deadAt]) => ({
        id,
        subscriber,
        event: eventOf(event, body),
        attempts,
        reason: reason as DeadLetterReason,
        lastError,
        deadAt,
      })),
    replay: (id) => replay(id),
    discard: (id) => db.open && removeLetter.run(id).changes > 0,
    waitingSubscribers: () => waitingSubscribers.all() as string[],
    disabled: (subscriber) => (disabledOf.get(subscriber) as SubscriberDisablement | undefined) ?? null,
    disable(subscriber, { url, reason, at }) {
      if (db.open) disable.run(subscriber, url, reason, at);
    },
    enable(subscriber) {
      if (db.open) enable.run(subscriber);
    },
    pacing(subscriber) {
      const row = pacingOf.get(subscriber) as [number, string] | undefined;
      return row ? { holdUntil: row[0], started: JSON.parse(row[1]) as number[] } : null;
    },
    pace(subscriber, { holdUntil, started }) {
      if (db.open) pace.run(subscriber, holdUntil, JSON.stringify(started));
    },
  };
}
