import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AlarmAction, AlarmActionOutcome } from '../alarms/alarm-action.js';
import { type ShelfAction, type ShelfOutcome, SITE_OWNER_SILENT, SITE_OWNER_UNAVAILABLE } from '../alarms/shelf-service.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { type LaneVerdict, UNAVAILABLE } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';

/** Judges a payload forwarded by another node: `decided` exactly once. */
export type ForwardedJudge = (deviceId: string, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void) => void;

/** Takes a duty officer's action another node forwarded (the alarm's site is judged here). */
export type ForwardedAction = (action: AlarmAction) => Promise<AlarmActionOutcome>;
/** Takes a shelving action another node forwarded (its site is judged here). */
export type ForwardedShelfAction = (action: ShelfAction) => Promise<ShelfOutcome>;

const NO_ANSWER: AlarmActionOutcome = { ok: false, error: { code: 'cluster_unavailable' } };

/**
 * Hands a device's PUBLISH from the node it is connected to to the node that owns its site, and the owner's verdict
 * back, over Redis pub/sub (each node listens on its own channel). The connected node answers the PUBACK only with
 * the owner's verdict — given after the owner's commit — so an acknowledgement still means durable; no verdict
 * within `timeoutMs` (the owner died, Redis is away) is `unavailable`: no PUBACK, the device sends it again.
 */
export interface ReadingForwarder {
  /** Listens for payloads and actions forwarded to this node, judged by `judge` and taken by `act` and `shelve`. */
  start(judge: ForwardedJudge, act: ForwardedAction, shelve: ForwardedShelfAction): Promise<void>;
  forward(owner: string, device: RegisteredDevice, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void): void;
  /**
   * Sends a duty officer's action to the node that judges the alarm's site (an operator may use any node); its
   * outcome comes back, or `cluster_unavailable` after `timeoutMs`.
   */
  forwardAction(owner: string, action: AlarmAction): Promise<AlarmActionOutcome>;
  /** Sends a shelving action to the node that judges its site; as `forwardAction`. */
  forwardShelfAction(owner: string, action: ShelfAction): Promise<ShelfOutcome>;
  /** Payloads forwarded and not yet answered. */
  inFlight(): number;
  close(): void;
}

export interface ReadingForwarderSettings {
  /** Counts each forwarded PUBLISH by how it ended (`gateway_cluster_forwarded_total`). */
  counted(outcome: 'judged' | 'unavailable'): void;
  redisUrl: string;
  keyPrefix: string;
  nodeId: string;
  timeoutMs: number;
  log: Logger;
  /**
   * This node's clock: a payload forwarded here arrives at its time, not the time of the node the device is connected
   * to (silence and delays are judged on one clock, the owner's; two nodes' clocks are never quite the same).
   */
  now(): number;
}

type Message =
  | { t: 'reading'; id: number; from: string; device: string; payload: string; at: number }
  | { t: 'verdict'; id: number; verdict: LaneVerdict }
  | { t: 'action'; id: number; from: string; action: AlarmAction }
  | { t: 'shelf'; id: number; from: string; action: ShelfAction }
  | { t: 'acted'; id: number; outcome: AlarmActionOutcome | ShelfOutcome };

export function createReadingForwarder(settings: ReadingForwarderSettings): ReadingForwarder {
  const { log } = settings;
  const subscriber = new Redis(settings.redisUrl, { lazyConnect: true });
  const publisher = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  subscriber.on('error', () => {});
  publisher.on('error', () => {});
  const channelOf = (node: string) => `${settings.keyPrefix}node:${node}`;
  const pending = new Map<number, { decided: (verdict: LaneVerdict) => void; timer: NodeJS.Timeout }>();
  /**
   * Actions sent and not yet answered: each is answered once, by its outcome, by `notDelivered` (nobody took it: it
   * was not done) or, after the timeout, by `noAnswer` (it may have been done).
   */
  const actions = new Map<number, { done: (outcome: unknown) => void; noAnswer: unknown; notDelivered: unknown; timer: NodeJS.Timeout }>();
  // From a random start: a node restarted under the same id at once must not take a late answer meant for its
  // previous process as one to its own new request (answers are routed by node id, then matched by this number).
  let nextId = randomInt(1, 2 ** 47);
  /** Actions taken here for other nodes, by sender and request: kept twice the wait of a sender, then forgotten. */
  const taken = new Map<string, { outcome: Promise<unknown>; at: number }>();
  const forgetOldTaken = (): void => {
    const before = Date.now() - 2 * settings.timeoutMs;
    for (const [key, entry] of taken) {
      if (entry.at >= before) break; // in the order taken
      taken.delete(key);
    }
  };

  const acted = (id: number, outcome?: unknown, delivered = true): void => {
    const waiting = actions.get(id);
    if (!waiting) return;
    actions.delete(id);
    clearTimeout(waiting.timer);
    waiting.done(outcome !== undefined ? outcome : delivered ? waiting.noAnswer : waiting.notDelivered);
  };

  const settle = (id: number, verdict: LaneVerdict): void => {
    const waiting = pending.get(id);
    if (!waiting) return; // answered after its time: the device was told `unavailable` already
    pending.delete(id);
    clearTimeout(waiting.timer);
    settings.counted(verdict.unavailable ? 'unavailable' : 'judged');
    waiting.decided(verdict);
  };
  const send = (node: string, message: Message): Promise<unknown> => publisher.publish(channelOf(node), JSON.stringify(message));

  /**
   * Sends an action to `owner` and waits for its outcome: `noAnswer` after `timeoutMs` (the owner may have done it),
   * `notDelivered` at once when nobody listens or the message could not be sent (it was not done).
   */
  const request = <T>(owner: string, message: (id: number) => Message, noAnswer: T, notDelivered: T = noAnswer): Promise<T> => {
    const id = nextId++;
    return new Promise<T>((done) => {
      const timer = setTimeout(() => acted(id), settings.timeoutMs);
      timer.unref();
      actions.set(id, { done: done as (outcome: unknown) => void, noAnswer, notDelivered, timer });
      send(owner, message(id))
        .then((receivers) => {
          if (receivers === 0) acted(id, undefined, false);
        })
        .catch(() => acted(id, undefined, false));
    });
  };

  return {
    async start(judge, act, shelve) {
      await Promise.all([subscriber.connect(), publisher.connect()]);
      subscriber.on('message', (_channel: string, text: string) => {
        let message: Message;
        try {
          message = JSON.parse(text) as Message;
        } catch {
          return;
        }
        if (message.t === 'verdict') return settle(message.id, message.verdict);
        if (message.t === 'acted') return acted(message.id, message.outcome);
        if (message.t === 'action' || message.t === 'shelf') {
          const { id, from } = message;
          // the same request again (a publish resent after a reconnect): its first outcome, not a second action
          const key = `${from} ${id}`;
          let outcome = taken.get(key)?.outcome;
          if (outcome === undefined) {
            outcome = message.t === 'action' ? act(message.action) : shelve(message.action);
            taken.set(key, { outcome, at: Date.now() });
            forgetOldTaken();
          }
          void outcome
            .then((answer) => send(from, { t: 'acted', id, outcome: answer as AlarmActionOutcome | ShelfOutcome }))
            .catch((error: Error) => log.warn({ err: error, to: from }, 'action outcome not sent back'));
          return;
        }
        const { id, from } = message;
        judge(message.device, Buffer.from(message.payload, 'base64'), settings.now(), (verdict) => {
          send(from, { t: 'verdict', id, verdict }).catch((error: Error) => log.warn({ err: error, to: from }, 'verdict not sent back'));
        });
      });
      await subscriber.subscribe(channelOf(settings.nodeId));
    },
    forward(owner, device, payload, receivedAt, decided) {
      const id = nextId++;
      const timer = setTimeout(() => settle(id, UNAVAILABLE), settings.timeoutMs);
      timer.unref();
      pending.set(id, { decided, timer });
      const message: Message = {
        t: 'reading',
        id,
        from: settings.nodeId,
        device: device.id,
        payload: payload.toString('base64'),
        at: receivedAt,
      };
      send(owner, message)
        .then((receivers) => {
          // nobody listens on the owner's channel (it has just gone): no point waiting for the timeout
          if (receivers === 0) settle(id, UNAVAILABLE);
        })
        .catch(() => settle(id, UNAVAILABLE));
    },
    forwardAction: (owner, action) => request(owner, (id) => ({ t: 'action', id, from: settings.nodeId, action }), NO_ANSWER),
    forwardShelfAction: (owner, action) =>
      request(owner, (id) => ({ t: 'shelf', id, from: settings.nodeId, action }), SITE_OWNER_SILENT, SITE_OWNER_UNAVAILABLE),
    inFlight: () => pending.size,
    close() {
      for (const id of [...pending.keys()]) settle(id, UNAVAILABLE);
      for (const id of [...actions.keys()]) acted(id);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
