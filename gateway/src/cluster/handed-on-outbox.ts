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
 * wrapper counts, per event, the deliveries queued and not yet delivered or dead-lettered; `done` is told when none
 * is left. Deliveries waiting from before a restart are counted from the start.
 */
export function handedOnOutbox(outbox: WebhookOutbox, subscribers: readonly string[], done: (event: AlarmEvent) => void): HandedOnOutbox {
  const waiting = new Map<string, { event: AlarmEvent; count: number }>();
  const queued = (event: AlarmEvent): void => {
    const entry = waiting.get(event.id);
    if (entry) entry.count += 1;
    else waiting.set(event.id, { event, count: 1 });
  };
  const left = (event: AlarmEvent): void => {
    const entry = waiting.get(event.id);
    if (!entry) return;
    entry.count -= 1;
    if (entry.count > 0) return;
    waiting.delete(event.id);
    done(entry.event);
  };
  for (const subscriber of subscribers) for (const delivery of outbox.pending(subscriber)) queued(delivery.event);
  return {
    ...outbox,
    durable: outbox.durable,
    enqueue(subscriber, event, body) {
      const delivery = outbox.enqueue(subscriber, event, body);
      queued(event);
      return delivery;
    },
    delivered(delivery) {
      outbox.delivered(delivery);
      left(delivery.event);
    },
    deadLetter(delivery, reason, lastError) {
      const letter = outbox.deadLetter(delivery, reason, lastError);
      // a delivery that was never queued (its subscriber disabled) was not counted
      if (delivery.id !== null) left(delivery.event);
      return letter;
    },
    offered(event) {
      if (!waiting.has(event.id)) done(event);
    },
  };
}
