import { type AlarmEvent, SEVERITY_CODE, type Severity } from '../../../../rules/src/index.js';
import type { WebhookSubscriberConfig } from '../../config/config-schema.js';
import type { Logger } from '../../observability/logger.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { redactedUrl } from '../../observability/redacted-url.js';
import { httpSend } from '../http-send.js';
import { backoffDelay } from '../sink.js';
import { createDeliveryQueue } from './delivery-queue.js';
import { webhookKindOf } from './kinds/kind-registry.js';
import type { AttemptOutcome } from './kinds/webhook-kind.js';
import type { DeadLetterReason, OutboxDelivery, WebhookOutbox } from './webhook-outbox.js';

type Delivery = OutboxDelivery;

/** Events of one alarm go out one at a time, in the order they were queued. */
const keyOf = (delivery: Delivery): string => delivery.event.data.alarm.id;
/** Red 1 … blue 4: the rank the queue takes the lowest of first. */
const severityFirst = (delivery: Delivery): number => SEVERITY_CODE[delivery.event.data.alarm.severity];

export interface SubscriberState {
  id: string;
  kind: WebhookSubscriberConfig['kind'];
  /** The configured url, a robot's `key` or `access_token` shown as `***`. */
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  /** When it was disabled (ISO 8601), or null. */
  disabledAt: string | null;
  queued: number;
  inFlight: number;
  delivered: number;
  failedAttempts: number;
  lastError: string | null;
}

export interface WebhookSubscriberDeps {
  config: WebhookSubscriberConfig;
  now(): number;
  metrics: GatewayMetrics;
  log: Logger;
  /** Where its deliveries wait (and, after a restart, are found again) and its dead letters go. */
  outbox: WebhookOutbox;
  /**
   * The outbox could not record an answer (the local store refusing a write: full, an I/O error): the gateway cannot
   * keep its promise of at-least-once delivery and stops. Without it, the error is logged and the attempt forgotten.
   */
  onStoreFailure?(error: Error): void;
  /**
   * The severities an alarm had up to its transition `seq` (its history, that transition included): a severity filter
   * follows an alarm from its first event at a listed severity to its end. Absent: only the event's own severity.
   */
  severitiesOf?(alarmId: string, seq: number): readonly Severity[];
}

export interface WebhookSubscriber {
  readonly id: string;
  matches(event: AlarmEvent): boolean;
  /**
   * Queues the event (in the outbox before this returns; while the subscriber is disabled it waits there). `send`
   * false: no request leaves until `send()` (the event's outbox row is in a commit not yet done); the queue goes on as
   * if it had (what is dispatched counts as in flight).
   */
  enqueue(event: AlarmEvent, send?: boolean): void;
  /** Lets the requests held since `enqueue(event, false)` leave. */
  send(): void;
  /** Takes a delivery already in the outbox (a replayed dead letter). */
  adopt(delivery: OutboxDelivery): void;
  /** Enables it again after a 410 (recorded in the outbox, so it holds after a restart); what waits goes on, in order. */
  enable(): void;
  state(): SubscriberState;
  /** Resolves when nothing is in flight and nothing waits to be sent (what waits while disabled does not count), or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
  /**
   * Starts no further attempt once none is in flight and none is due (what waits for a retry stays in the outbox
   * for the next start), waiting at most `timeoutMs` for the attempts in flight; an answer arriving later is not
   * recorded (the attempt is made again after the restart, under the same number).
   */
  close(timeoutMs: number): Promise<void>;
}

const SINK = 'webhook';

/**
 * Counts `count` dead letters of `subscriber` (a configured one's, or those stranded by one no longer configured): the
 * webhook's own counter by reason, and the sinks' common drop counter every sink dashboard and alert reads.
 */
export function countDeadLetters(metrics: GatewayMetrics, subscriber: string, reason: DeadLetterReason, count = 1): void {
  metrics.sinkDropped.inc({ sink: SINK, reason: 'dead_letter' }, count);
  metrics.webhookDeadLetters.inc({ subscriber, reason }, count);
}

/** The window `maxPerMinute` counts attempts in. */
const MINUTE = 60_000;

/** A promise and the function that resolves it. */
function holdAttempts(): { until: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const until = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { until, release };
}

/** Resolves when one of `waiters` is called (the list is emptied by whoever calls them), or after `timeoutMs`. */
function waitIn(waiters: Array<() => void>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    waiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * One subscriber's delivery queue, mirrored in the outbox (what it finds there at creation goes first): events of one alarm are delivered one at a time in order; different
 * alarms go in parallel up to `concurrency`, and at most `maxPerMinute` start a minute. Its kind (`kinds/`: Standard
 * Webhooks, a WeCom or DingTalk robot) renders the body once, at enqueue, signs each attempt and reads the answers;
 * a robot's rate-limit errcode holds the whole subscriber for `rateLimitDelay`. 2xx succeeds; 410 (or a robot's
 * unknown-key errcode) disables the subscriber (recorded in the outbox: it stays disabled after a restart until
 * `enable`, unless its configured url changed; what waits, and what arrives meanwhile, waits in the outbox); 429, 5xx, timeouts
 * and network errors are retried with backoff and jitter, honouring Retry-After; exhausted events are
 * dead-lettered.
 */
export function createWebhookSubscriber(deps: WebhookSubscriberDeps): WebhookSubscriber {
  const { config, outbox } = deps;
  const kind = webhookKindOf(config);
  const maxPerMinute = config.maxPerMinute ?? kind.defaultMaxPerMinute;
  // The pacing the last run left (a restart keeps to a hold a receiver asked for, and to a robot's rate).
  const pacing = outbox.pacing(config.id);
  /** When the last attempts started (ms), oldest first: at most `maxPerMinute` within a minute. */
  const started: number[] = pacing?.started.filter((at) => at > deps.now() - MINUTE) ?? [];
  /** No attempt starts before this (a service's rate-limit answer holds the whole subscriber). */
  let holdUntil = pacing?.holdUntil ?? 0;
  const recordPacing = (): void => outbox.pace(config.id, { holdUntil, started });
  /** What waits, and (taken) what is being attempted: a 410 meanwhile leaves those to their answer. */
  // Under a rate bound (a robot: 20 a minute) a backlog takes minutes to go out: of the alarms' next messages, the
  // most severe goes first (a red gas alarm before thirty cleared silences); otherwise in the order queued.
  const queue = createDeliveryQueue<Delivery>(keyOf, maxPerMinute === null ? undefined : severityFirst);
  for (const delivery of outbox.pending(config.id)) queue.push(delivery);
  let inFlight = 0;
  let enabled = true;
  let disabledReason: string | null = null;
  let disabledAt: number | null = null;
  let delivered = 0;
  let failedAttempts = 0;
  let lastError: string | null = null;
  let wakeTimer: NodeJS.Timeout | null = null;
  let closed = false;
  /**
   * Set by `enqueue(event, false)` until `send()`: attempts dispatched meanwhile are counted as usual (in flight, their
   * alarm busy, safe from `maxQueued`) but make their request only once released, their outbox rows' commit done.
   */
  let held: { until: Promise<void>; release: () => void } | null = null;
  const idleWaiters: Array<() => void> = [];
  /** `close` waiting for the attempts in flight (and those that fall due meanwhile) to be answered. */
  const settleWaiters: Array<() => void> = [];

  const gauge = (): void => deps.metrics.sinkQueued.set({ sink: `${SINK}:${config.id}` }, queue.size);

  /** Nothing in flight, and nothing to send: none waits, or what waits does so for `enable`. */
  const isIdle = (): boolean => inFlight === 0 && (queue.size === 0 || !enabled);
  const notifyIdle = (): void => {
    if (isIdle()) for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const deadLetter = (delivery: Delivery, reason: DeadLetterReason, lastError: string): void => {
    countDeadLetters(deps.metrics, config.id, reason);
    deps.log.warn(
      { subscriber: config.id, event: delivery.event.id, attempts: delivery.attempts, reason, lastError },
      'webhook dead-lettered',
    );
    outbox.deadLetter(delivery, reason, lastError);
  };

  /**
   * 410 Gone: no attempt starts until an operator enables the subscriber again (recorded in the outbox, so after a
   * restart too). What waits stays in the outbox, and what arrives joins it (up to `maxQueued`, the oldest
   * dead-lettered `queue_full` beyond): enabled, it goes on in order, each alarm's events in `seq` order.
   */
  const disable = (reason: string): void => {
    enabled = false;
    disabledReason = reason;
    disabledAt = deps.now();
    outbox.disable(config.id, { url: config.url, reason, at: disabledAt });
    deps.log.warn({ subscriber: config.id, reason, queued: queue.size }, 'webhook subscriber disabled');
  };
  /** An attempt answered while the subscriber is (or has just been) disabled: it waits, first of its alarm, for `enable`. */
  const keepForEnable = (delivery: Delivery): void => {
    delivery.notBefore = deps.now();
    outbox.attempted(delivery);
  };

  const attempt = async (delivery: Delivery): Promise<void> => {
    if (held) await held.until;
    // Counted in the outbox only once answered (or timed out): an attempt cut short by a restart is made again
    // under the same number.
    delivery.attempts += 1;
    const { url, headers } = kind.request(delivery, deps.now());
    const stop = deps.metrics.sinkLatency.startTimer({ sink: SINK });
    let outcome: AttemptOutcome;
    try {
      const answer = await httpSend('POST', url, { headers, body: delivery.body, timeoutMs: config.timeout, statusOnly: !kind.readsBody });
      outcome = kind.judge(answer, deps.now());
    } catch (error) {
      outcome = { ok: false, retryable: true, gone: null, error: (error as Error).message, retryAfter: null, holdSubscriber: false };
    }
    stop();
    if (closed) return; // closed while in flight: the store may be closed too

    if (outcome.ok) {
      delivered += 1;
      deps.metrics.sinkWritten.inc({ sink: SINK });
      queue.remove(delivery);
      outbox.delivered(delivery);
      return;
    }
    failedAttempts += 1;
    lastError = outcome.error;
    delivery.lastError = outcome.error;
    deps.metrics.sinkFailed.inc({ sink: SINK });
    // 410 Gone, or disabled by another alarm's 410 while this one was in flight: it waits for `enable`
    if (outcome.gone !== null && enabled) disable(outcome.gone);
    if (!enabled) {
      keepForEnable(delivery);
      return;
    }

    if (!outcome.retryable || delivery.attempts >= config.maxAttempts) {
      queue.remove(delivery);
      deadLetter(
        delivery,
        outcome.retryable ? 'exhausted' : 'not_retryable',
        outcome.retryable ? `gave up after ${delivery.attempts} attempts: ${outcome.error}` : `not retryable: ${outcome.error}`,
      );
      return;
    }
    // a Retry-After with some jitter on top: the events it held do not all come back in the same millisecond
    const retryAfter =
      outcome.retryAfter === null ? 0 : outcome.retryAfter + Math.round(Math.random() * Math.min(outcome.retryAfter / 10, 30_000));
    const delay = Math.max(backoffDelay(delivery.attempts, config.retryBaseDelay, config.retryMaxDelay), retryAfter);
    delivery.notBefore = deps.now() + delay;
    if (outcome.holdSubscriber) {
      holdUntil = Math.max(holdUntil, deps.now() + (outcome.retryAfter ?? delay));
      recordPacing();
    }
    outbox.attempted(delivery);
    deps.log.debug(
      { subscriber: config.id, event: delivery.event.id, attempts: delivery.attempts, delay, error: outcome.error },
      'webhook retry scheduled',
    );
  };

  const dispatch = (): void => {
    if (closed || !enabled) {
      notifyIdle();
      return;
    }
    const now = deps.now();
    /** When to look again: a hold's or the minute's end if one stopped the loop, else the next retry due. */
    let earliest: number | null = null;
    while (started.length > 0 && (started[0] as number) <= now - MINUTE) started.shift();
    while (inFlight < config.concurrency) {
      if (holdUntil > now) {
        earliest = holdUntil;
        break;
      }
      if (maxPerMinute !== null && started.length >= maxPerMinute) {
        earliest = (started[0] as number) + MINUTE;
        break;
      }
      const delivery = queue.take(now);
      if (!delivery) break;
      inFlight += 1;
      if (maxPerMinute !== null) {
        started.push(now);
        recordPacing();
      }
      void attempt(delivery)
        .catch((error: unknown) => {
          if (closed) return;
          // no further attempt: what the outbox holds is sent again after the restart
          closed = true;
          if (wakeTimer) clearTimeout(wakeTimer);
          deps.log.fatal({ subscriber: config.id, event: delivery.event.id, err: error }, 'webhook outbox failed');
          deps.onStoreFailure?.(error as Error);
        })
        .finally(() => {
          queue.release(delivery);
          inFlight -= 1;
          gauge();
          dispatch();
          if (inFlight === 0) for (const settled of settleWaiters.splice(0)) settled();
        });
    }
    // Full: the next answer dispatches again. Otherwise `take` has passed every retry now due.
    if (inFlight < config.concurrency) earliest ??= queue.nextDueAt();
    if (earliest !== null) {
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = setTimeout(
        () => {
          wakeTimer = null;
          dispatch();
        },
        Math.max(0, earliest - now),
      );
    }
    notifyIdle();
  };

  /**
   * Bounds the queue (and so the outbox) to `maxQueued - room`: the oldest waiting are dead-lettered, `queue_full`
   * (never one being sent: its answer decides, and it would be both delivered and dead-lettered).
   */
  const makeRoom = (room: number): void => {
    while (queue.size > config.maxQueued - room) {
      const oldest = queue.oldestWaiting();
      if (!oldest) return;
      queue.remove(oldest);
      deadLetter(oldest, 'queue_full', 'queue full');
    }
  };
  const push = (delivery: Delivery): void => {
    queue.push(delivery);
    gauge();
    dispatch();
  };

  const { sites, severities, types } = config.filter;
  /**
   * Whether the event is of a severity the filter lists, or of an alarm that has been at one: a subscriber that took
   * a red alarm's escalation also takes its de-escalation, clear and resolution, whatever severity they carry.
   */
  const severityMatches = (event: AlarmEvent): boolean => {
    if (!severities || severities.includes(event.data.alarm.severity)) return true;
    const { id, seq } = event.data.alarm;
    return deps.severitiesOf?.(id, seq).some((severity) => severities.includes(severity)) ?? false;
  };
  const disablement = outbox.disabled(config.id);
  if (disablement && disablement.url === config.url) {
    enabled = false;
    disabledReason = disablement.reason;
    disabledAt = disablement.at;
    deps.log.warn({ subscriber: config.id, reason: disablement.reason, queued: queue.size }, 'webhook subscriber still disabled');
  } else if (disablement) {
    // The 410 came from a url no longer configured: the new one gets its chance.
    outbox.enable(config.id);
    deps.log.info(
      { subscriber: config.id, goneUrl: redactedUrl(disablement.url) },
      'webhook subscriber enabled: its url changed since the 410',
    );
  }
  makeRoom(0); // maxQueued may have been lowered since the store was written
  gauge();
  if (queue.size > 0) {
    deps.log.info({ subscriber: config.id, queued: queue.size }, 'webhook deliveries resumed from the store');
    queueMicrotask(dispatch);
  }
  return {
    id: config.id,
    matches: (event) =>
      (!sites || sites.includes(event.data.alarm.site)) && severityMatches(event) && (!types || types.includes(event.type)),
    enqueue(event, send = true) {
      if (closed) return;
      if (!send) held ??= holdAttempts();
      makeRoom(1);
      push(outbox.enqueue(config.id, event, kind.render(event)));
    },
    send() {
      const release = held?.release;
      held = null;
      release?.();
    },
    adopt(delivery) {
      if (closed) return;
      makeRoom(1);
      push(delivery);
    },
    enable() {
      if (closed || enabled) return;
      outbox.enable(config.id);
      enabled = true;
      disabledReason = null;
      disabledAt = null;
      dispatch();
    },
    state: () => ({
      id: config.id,
      kind: config.kind,
      url: redactedUrl(config.url),
      enabled,
      disabledReason,
      disabledAt: disabledAt === null ? null : new Date(disabledAt).toISOString(),
      queued: queue.size,
      inFlight,
      delivered,
      failedAttempts,
      lastError,
    }),
    idle(timeoutMs) {
      if (isIdle()) return Promise.resolve();
      return waitIn(idleWaiters, timeoutMs);
    },
    async close(timeoutMs) {
      if (inFlight > 0 && !closed) await waitIn(settleWaiters, timeoutMs);
      closed = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      notifyIdle();
    },
  };
}
