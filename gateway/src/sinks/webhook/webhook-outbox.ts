import type { AlarmEvent } from '../../../../rules/src/index.js';

/**
 * Why an event was dead-lettered: `exhausted` (maxAttempts used up), `not_retryable` (a 4xx other than
 * 408/429), `gone` (the receiver answered 410 and the subscriber was disabled), `subscriber_disabled` (it
 * arrived, or was waiting, while the subscriber was disabled), `queue_full` (the oldest of a full queue),
 * `subscriber_removed` (it waited for a subscriber the configuration no longer has: renamed or removed).
 */
export const DEAD_LETTER_REASONS = [
  'exhausted',
  'not_retryable',
  'gone',
  'subscriber_disabled',
  'queue_full',
  'subscriber_removed',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetter {
  id: string;
  subscriber: string;
  event: AlarmEvent;
  attempts: number;
  reason: DeadLetterReason;
  lastError: string;
  deadAt: string;
}

/** One event waiting for one subscriber, with where its retry schedule stands. */
export interface OutboxDelivery {
  /** Its place in the outbox (order of enqueueing). */
  id: number;
  subscriber: string;
  event: AlarmEvent;
  /**
   * The body as first rendered (the event itself, or a group robot's message about it): every attempt, before and
   * after a restart and after a replay, sends the same bytes.
   */
  body: string;
  attempts: number;
  /** No attempt before this (ms since the epoch). */
  notBefore: number;
  lastError: string | null;
}

/** One event a receiver took (the delivery log): which, after how many attempts, when. */
export interface DeliveryRecord {
  eventId: string;
  type: string;
  alarmId: string;
  seq: number;
  attempts: number;
  deliveredAt: string;
}

/** Deliveries the log keeps when `OutboxIds.maxDeliveries` does not say (all subscribers together; the oldest go). */
export const DEFAULT_MAX_DELIVERIES = 10_000;

const recordOf = (delivery: OutboxDelivery, at: number): DeliveryRecord => ({
  eventId: delivery.event.id,
  type: delivery.event.type,
  alarmId: delivery.event.data.alarm.id,
  seq: delivery.event.data.alarm.seq,
  attempts: delivery.attempts,
  deliveredAt: new Date(at).toISOString(),
});

export { recordOf as deliveryRecordOf };

/** A subscriber's pacing: no attempt before `holdUntil`; `started`, when its attempts of the last minute started (ms). */
export interface SubscriberPacing {
  holdUntil: number;
  started: number[];
}

/** A subscriber disabled by 410 Gone: the url that answered it, why, and since when (ms since the epoch). */
export interface SubscriberDisablement {
  url: string;
  reason: string;
  at: number;
}

/**
 * Where webhook deliveries wait and dead letters are kept, and which subscribers are disabled. The SQLite adapter (`store/webhook-outbox-sqlite.ts`)
 * keeps them across restarts; the in-memory one (store disabled) forgets them. Every write is done when the
 * call returns.
 */
export interface WebhookOutbox {
  /** Whether what waits survives a restart (the local store) or is forgotten (memory). */
  readonly durable: boolean;
  /** What waits for `subscriber`, oldest first (after a restart: what was pending, attempts and schedule kept). */
  pending(subscriber: string): OutboxDelivery[];
  /** Queues `event` for `subscriber`, to be sent as `body` (by default the event's JSON). */
  enqueue(subscriber: string, event: AlarmEvent, body?: string): OutboxDelivery;
  /** Records a failed attempt: its `attempts`, `notBefore` and `lastError`. */
  attempted(delivery: OutboxDelivery): void;
  /** The receiver took it: it leaves the outbox and goes into the delivery log. */
  delivered(delivery: OutboxDelivery): void;
  /** The delivery log of `subscriber`, newest first (at most `limit`). */
  deliveries(subscriber: string, limit: number): DeliveryRecord[];
  /** Moves it from the outbox (if it was queued) to the dead letters. */
  deadLetter(delivery: OutboxDelivery, reason: DeadLetterReason, lastError: string): DeadLetter;
  /** Dead letters, oldest first. */
  deadLetters(): DeadLetter[];
  /** Moves a dead letter back into its subscriber's outbox, attempts from zero; null if there is none with `id`. */
  replay(id: string): OutboxDelivery | null;
  /** Removes a dead letter (replayed to another subscriber, which renders its own body); false if there is none. */
  discard(id: string): boolean;
  /** The subscribers something waits for in the outbox (after a restart: those of the last run too). */
  waitingSubscribers(): string[];
  /** Whether `subscriber` is disabled (after a restart too); null while it is enabled. */
  disabled(subscriber: string): SubscriberDisablement | null;
  /** Records that `subscriber` is disabled, until `enable`. */
  disable(subscriber: string, disablement: SubscriberDisablement): void;
  /** Records that `subscriber` is enabled again. */
  enable(subscriber: string): void;
  /** The pacing last recorded for `subscriber` (after a restart too); null: none. */
  pacing(subscriber: string): SubscriberPacing | null;
  /** Records `subscriber`'s pacing: a hold asked for, an attempt started under a rate bound. */
  pace(subscriber: string, pacing: SubscriberPacing): void;
}

export interface OutboxIds {
  /** A new dead letter id. */
  newId(): string;
  now(): number;
  /** Dead letters kept per subscriber (`store.deadLetters.max`); past it the subscriber's oldest are forgotten. */
  maxDeadLetters: number;
  /** Told how many of the oldest dead letters a new one made it forget (counted and said in the log). */
  forgotten?: (count: number) => void;
  /** Delivery-log entries kept, all subscribers together (default DEFAULT_MAX_DELIVERIES); the oldest go. */
  maxDeliveries?: number;
}

/** The outbox in memory (store disabled): a restart forgets what waits, the dead letters and who is disabled. */
export function createMemoryWebhookOutbox(ids: OutboxIds): WebhookOutbox {
  const letters: DeadLetter[] = [];
  /** The body of each dead letter, by its id: a replay sends what was rendered at first. */
  const bodies = new Map<string, string>();
  const disabled = new Map<string, SubscriberDisablement>();
  const paced = new Map<string, SubscriberPacing>();
  const log: Array<DeliveryRecord & { subscriber: string }> = [];
  let lastId = 0;
  const delivery = (subscriber: string, event: AlarmEvent, body = JSON.stringify(event)): OutboxDelivery => {
    lastId += 1;
    return { id: lastId, subscriber, event, body, attempts: 0, notBefore: 0, lastError: null };
  };
  return {
    durable: false,
    pending: () => [],
    enqueue: delivery,
    attempted() {},
    delivered(taken) {
      log.push({ ...recordOf(taken, ids.now()), subscriber: taken.subscriber });
      if (log.length > (ids.maxDeliveries ?? DEFAULT_MAX_DELIVERIES)) log.shift();
    },
    deliveries(subscriber, limit) {
      const out: DeliveryRecord[] = [];
      for (let i = log.length - 1; i >= 0 && out.length < limit; i -= 1) {
        const { subscriber: of, ...record } = log[i] as DeliveryRecord & { subscriber: string };
        if (of === subscriber) out.push(record);
      }
      return out;
    },
    deadLetter(queued, reason, lastError) {
      const letter: DeadLetter = {
        id: ids.newId(),
        subscriber: queued.subscriber,
        event: queued.event,
        attempts: queued.attempts,
        reason,
        lastError,
        deadAt: new Date(ids.now()).toISOString(),
      };
      letters.push(letter);
      bodies.set(letter.id, queued.body);
      // the subscriber's own oldest past its bound (another's letters are never forgotten for it)
      const own = letters.filter((kept) => kept.subscriber === letter.subscriber);
      if (own.length > ids.maxDeadLetters) {
        const oldest = own[0] as DeadLetter;
        letters.splice(letters.indexOf(oldest), 1);
        bodies.delete(oldest.id);
        ids.forgotten?.(1);
      }
      return letter;
    },
    deadLetters: () => [...letters],
    replay(id) {
      const index = letters.findIndex((letter) => letter.id === id);
      const letter = letters[index];
      if (!letter) return null;
      letters.splice(index, 1);
      const body = bodies.get(id);
      bodies.delete(id);
      return delivery(letter.subscriber, letter.event, body);
    },
    discard(id) {
      const index = letters.findIndex((letter) => letter.id === id);
      if (index === -1) return false;
      letters.splice(index, 1);
      bodies.delete(id);
      return true;
    },
    waitingSubscribers: () => [],
    disabled: (subscriber) => disabled.get(subscriber) ?? null,
    disable(subscriber, disablement) {
      disabled.set(subscriber, { ...disablement });
    },
    enable(subscriber) {
      disabled.delete(subscriber);
    },
    pacing: (subscriber) => {
      const pacing = paced.get(subscriber);
      return pacing ? { holdUntil: pacing.holdUntil, started: [...pacing.started] } : null;
    },
    pace(subscriber, pacing) {
      paced.set(subscriber, { holdUntil: pacing.holdUntil, started: [...pacing.started] });
    },
  };
}
