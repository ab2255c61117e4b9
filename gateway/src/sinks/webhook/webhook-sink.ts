import type { AlarmEvent, Severity } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import type { Sink, SinkStatus } from '../sink.js';
import type { DeadLetter, DeliveryRecord, WebhookOutbox } from './webhook-outbox.js';
import { countDeadLetters, createWebhookSubscriber, type SubscriberState, type WebhookSubscriber } from './webhook-subscriber.js';

export interface WebhookSink extends Sink {
  /** Queues the event for every subscriber it is for (in the outbox before this returns) and starts their attempts. */
  deliver(event: AlarmEvent): void;
  /**
   * Queues it as `deliver` does, but its requests wait for `send()`: its outbox rows are in a commit not yet done (the
   * alarm's), and no request may leave for a transition that commit could still roll back.
   */
  enqueue(event: AlarmEvent): void;
  /** Lets the requests held since `enqueue` leave (the commit is done). */
  send(): void;
  subscribers(): SubscriberState[];
  deadLetters(): DeadLetter[];
  /** What `subscriberId`'s receiver took, newest first (null if there is no such subscriber). */
  deliveries(subscriberId: string, limit: number): DeliveryRecord[] | null;
  /**
   * Queues a dead-lettered event again for its subscriber (re-enabling a disabled one), or for `to` (rendered for
   * that one's kind): `not_found` if there is no such dead letter, `not_configured` if the subscriber it would go to
   * is not configured (renamed or removed since: give `to`).
   */
  replay(deadLetterId: string, to?: string): ReplayResult;
  /**
   * Re-enables a subscriber disabled by 410 Gone (new events flow again; a restart no longer finds it disabled);
   * its state, or null if unknown.
   */
  enable(subscriberId: string): SubscriberState | null;
  /** Resolves when every subscriber is idle (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<void>;
}

export interface WebhookSinkDeps {
  subscribers: readonly WebhookSubscriberConfig[];
  now(): number;
  /** Where deliveries wait and dead letters are kept: the local store, or memory when it is disabled. */
  outbox: WebhookOutbox;
  metrics: GatewayMetrics;
  log: Logger;
  /** The outbox could not record an answer (WebhookSubscriberDeps.onStoreFailure). */
  onStoreFailure?(error: Error): void;
  /** The severities an alarm has had so far (WebhookSubscriberDeps.severitiesOf). */
  severitiesOf?(alarmId: string, seq: number): readonly Severity[];
}

export type ReplayResult = { ok: true } | { ok: false; error: 'not_found' } | { ok: false; error: 'not_configured'; subscriber: string };

/** How long closing waits for attempts in flight (and, with the store off, for what is queued). */
const CLOSE_TIMEOUT = 5_000;

/**
 * Fans alarm events out to every subscriber whose filter matches; each subscriber has its own queue, kept in
 * the outbox. What the outbox holds from before a restart is sent first.
 */
export function createWebhookSink(deps: WebhookSinkDeps): WebhookSink {
  const { outbox } = deps;
  const build = (config: WebhookSubscriberConfig): WebhookSubscriber =>
    createWebhookSubscriber({
      config,
      now: deps.now,
      metrics: deps.metrics,
      log: deps.log.child({ subscriber: config.id }),
      outbox,
      ...(deps.onStoreFailure ? { onStoreFailure: deps.onStoreFailure } : {}),
      ...(deps.severitiesOf ? { severitiesOf: deps.severitiesOf } : {}),
    });
  const subscribers = new Map(deps.subscribers.map((config) => [config.id, build(config)]));
  deadLetterStranded();

  /** The subscriber, enabled again (in the store too) if it was disabled; undefined if no such subscriber. */
  const enabledSubscriber = (id: string): WebhookSubscriber | undefined => {
    const subscriber = subscribers.get(id);
    if (subscriber && !subscriber.state().enabled) {
      subscriber.enable();
      deps.log.info({ subscriber: id }, 'webhook subscriber enabled');
    }
    return subscriber;
  };

  const enqueue = (event: AlarmEvent, send: boolean): void => {
    // An escalation step (alarm.chased) goes to the subscribers it names whatever their filters say, and to the rest by filter.
    const named = event.type === 'alarm.chased' ? (event.data.alarm.chase?.notify.subscribers ?? []) : [];
    for (const subscriber of subscribers.values())
      if (subscriber.matches(event) || named.includes(subscriber.id)) subscriber.enqueue(event, send);
  };

  /**
   * What waits in the outbox for a subscriber the configuration no longer has (renamed or removed since the last
   * run) would wait for ever, unseen: dead-lettered `subscriber_removed`, listed and replayable to another (`to`).
   */
  function deadLetterStranded(): void {
    for (const id of outbox.waitingSubscribers()) {
      if (subscribers.has(id)) continue;
      const stranded = outbox.pending(id);
      for (const delivery of stranded) outbox.deadLetter(delivery, 'subscriber_removed', `subscriber ${id} is no longer configured`);
      countDeadLetters(deps.metrics, id, 'subscriber_removed', stranded.length);
      deps.log.warn({ subscriber: id, deadLettered: stranded.length }, 'webhook deliveries waiting for a subscriber no longer configured');
    }
  }

  return {
    name: 'webhooks',
    deliver: (event) => enqueue(event, true),
    enqueue: (event) => enqueue(event, false),
    send() {
      for (const subscriber of subscribers.values()) subscriber.send();
    },
    subscribers: () => [...subscribers.values()].map((s) => s.state()),
    deadLetters: () => outbox.deadLetters(),
    deliveries: (id, limit) => (subscribers.has(id) ? outbox.deliveries(id, limit) : null),
    replay(id, to) {
      const letter = outbox.deadLetters().find((l) => l.id === id);
      if (!letter) return { ok: false, error: 'not_found' };
      const target = to ?? letter.subscriber;
      const subscriber = enabledSubscriber(target);
      if (!subscriber) return { ok: false, error: 'not_configured', subscriber: target };
      if (target !== letter.subscriber) {
        // another subscriber renders its own body (a robot's card, not the standard body): queued anew, same event
        outbox.discard(id);
        subscriber.enqueue(letter.event);
        return { ok: true };
      }
      const delivery = outbox.replay(id);
      if (!delivery) return { ok: false, error: 'not_found' };
      subscriber.adopt(delivery);
      return { ok: true };
    },
    enable: (id) => enabledSubscriber(id)?.state() ?? null,
    async start() {},
    async idle(timeoutMs) {
      await Promise.all([...subscribers.values()].map((s) => s.idle(timeoutMs)));
    },
    async close() {
      // Kept in memory only, what waits is lost at exit: give it the time to go out. In the store it waits for the next start.
      if (!outbox.durable) await this.idle(CLOSE_TIMEOUT);
      await Promise.all([...subscribers.values()].map((s) => s.close(CLOSE_TIMEOUT)));
    },
    status(): SinkStatus {
      const states = [...subscribers.values()].map((s) => s.state());
      const disabled = states.filter((s) => !s.enabled).map((s) => s.id);
      return {
        name: 'webhooks',
        ready: true,
        reason: disabled.length > 0 ? `disabled subscribers: ${disabled.join(', ')}` : null,
        queued: states.reduce((sum, s) => sum + s.queued, 0),
      };
    },
  };
}
