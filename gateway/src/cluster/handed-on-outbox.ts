import type { AlarmEvent } from '../../../rules/src/index.js';
import type { WebhookOutbox } from '../sinks/webhook/webhook-outbox.js';

/** A node's webhook outbox that says when an event has left it: delivered to, or dead-lettered for, every subscriber. */
export interface HandedOnOutbox extends WebhookOutbox {
  /** Call after the sink was given `event`: an event no subscriber queued has left at once. */
  offered(event: AlarmEvent): void;
}

/**
 * In a cluster the shared store keeps each released event until its owner's outbox is done with it (cluster/
 * site-replica.ts): if the owner dies first, the next owner of the site delivers it again, with its id. This
 * wrapper keeps, per event, the subscribers with a delivery of it queued and not yet delivered or dead-lettered;
 * `done` is told when none is left. Deliveries waiting from before a restart are counted from the start. A
 * subscriber disabled by 410 counts as done with what it holds (it keeps it, for days maybe, until an operator
 * enables it): the shared store would otherwise keep those events, and hand them on to every subscriber again at
 * each change of owner.
 */
export function handedOnOutbox(outbox: WebhookOutbox, subscribers: readonly string[], done: (event: AlarmEvent) => void): HandedOnOutbox {
  const waiting = new Map<string, { event: AlarmEvent; subscribers: Set<string> }>();
  const disabled = new Set(subscribers.filter((subscriber) => outbox.disabled(subscriber) !== null));
  const queued = (event: AlarmEvent, subscriber: string): void => {
    if (disabled.has(subscriber)) return;
    const entry = waiting.get(event.id);
    if (entry) entry.subscribers.add(subscriber);
    else waiting.set(event.id, { event, subscribers: new Set([subscriber]) });
  };
  const left = (event: AlarmEvent, subscriber: string): void => {
    const entry = waiting.get(event.id);
    if (!entry?.subscribers.delete(subscriber) || entry.subscribers.size > 0) return;
    waiting.delete(event.id);
    done(entry.event);
  };
  for (const subscriber of subscribers) for (const delivery of outbox.pending(subscriber)) queued(delivery.event, subscriber);
  return {
    ...outbox,
    durable: outbox.durable,
    enqueue(subscriber, event, body) {
      const delivery = outbox.enqueue(subscriber, event, body);
      queued(event, subscriber);
      return delivery;
    },
    delivered(delivery) {
      outbox.delivered(delivery);
      left(delivery.event, delivery.subscriber);
    },
    deadLetter(delivery, reason, lastError) {
      const letter = outbox.deadLetter(delivery, reason, lastError);
      left(delivery.event, delivery.subscriber);
      return letter;
    },
    disable(subscriber, disablement) {
      outbox.disable(subscriber, disablement);
      disabled.add(subscriber);
      for (const delivery of outbox.pending(subscriber)) left(delivery.event, subscriber);
    },
    enable(subscriber) {
      outbox.enable(subscriber);
      disabled.delete(subscriber);
    },
    offered(event) {
      if (!waiting.has(event.id)) done(event);
    },
  };
}
