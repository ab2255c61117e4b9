import { Redis } from 'ioredis';
import type { AlarmAction, AlarmActionOutcome } from '../alarms/alarm-action.js';
import type { RegisteredDevice } from '../devices/device-registry.js';
import { type LaneVerdict, UNAVAILABLE } from '../lane/telemetry-lane.js';
import type { Logger } from '../observability/logger.js';

/** Judges a payload forwarded by another node: `decided` exactly once. */
export type ForwardedJudge = (deviceId: string, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void) => void;

/** Takes a duty officer's action another node forwarded (the alarm's site is judged here). */
export type ForwardedAction = (action: AlarmAction) => AlarmActionOutcome;

const NO_ANSWER: AlarmActionOutcome = { ok: false, error: { code: 'cluster_unavailable' } };

/**
 * Hands a device's PUBLISH from the node it is connected to to the node that owns its site, and the owner's verdict
 * back, over Redis pub/sub (each node listens on its own channel). The connected node answers the PUBACK only with
 * the owner's verdict — given after the owner's commit — so an acknowledgement still means durable; no verdict
 * within `timeoutMs` (the owner died, Redis is away) is `unavailable`: no PUBACK, the device sends it again.
 */
export interface ReadingForwarder {
  /** Listens for payloads and alarm actions forwarded to this node, judged by `judge` and taken by `act`. */
  start(judge: ForwardedJudge, act: ForwardedAction): Promise<void>;
  forward(owner: string, device: RegisteredDevice, payload: Buffer, receivedAt: number, decided: (verdict: LaneVerdict) => void): void;
  /**
   * Sends a duty officer's action to the node that judges the alarm's site (an operator may use any node); its
   * outcome comes back, or `cluster_unavailable` after `timeoutMs`.
   */
  forwardAction(owner: string, action: AlarmAction): Promise<AlarmActionOutcome>;
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
}

type Message =
  | { t: 'reading'; id: number; from: string; device: string; payload: string; at: number }
  | { t: 'verdict'; id: number; verdict: LaneVerdict }
  | { t: 'action'; id: number; from: string; action: AlarmAction }
  | { t: 'acted'; id: number; outcome: AlarmActionOutcome };

export function createReadingForwarder(settings: ReadingForwarderSettings): ReadingForwarder {
  const { log } = settings;
  const subscriber = new Redis(settings.redisUrl, { lazyConnect: true });
  const publisher = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  subscriber.on('error', () => {});
  publisher.on('error', () => {});
  const channelOf = (node: string) => `${settings.keyPrefix}node:${node}`;
  const pending = new Map<number, { decided: (verdict: LaneVerdict) => void; timer: NodeJS.Timeout }>();
  const actions = new Map<number, { done: (outcome: AlarmActionOutcome) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;

  const acted = (id: number, outcome: AlarmActionOutcome): void => {
    const waiting = actions.get(id);
    if (!waiting) return;
    actions.delete(id);
    clearTimeout(waiting.timer);
    waiting.done(outcome);
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

  return {
    async start(judge, act) {
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
        if (message.t === 'action') {
          const outcome = act(message.action);
          send(message.from, { t: 'acted', id: message.id, outcome }).catch((error: Error) =>
            log.warn({ err: error, to: message.from }, 'action outcome not sent back'),
          );
          return;
        }
        const { id, from } = message;
        judge(message.device, Buffer.from(message.payload, 'base64'), message.at, (verdict) => {
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
    forwardAction(owner, action) {
      const id = nextId++;
      return new Promise((done) => {
        const timer = setTimeout(() => acted(id, NO_ANSWER), settings.timeoutMs);
        timer.unref();
        actions.set(id, { done, timer });
        send(owner, { t: 'action', id, from: settings.nodeId, action })
          .then((receivers) => {
            if (receivers === 0) acted(id, NO_ANSWER);
          })
          .catch(() => acted(id, NO_ANSWER));
      });
    },
    inFlight: () => pending.size,
    close() {
      for (const id of [...pending.keys()]) settle(id, UNAVAILABLE);
      for (const id of [...actions.keys()]) acted(id, NO_ANSWER);
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}
