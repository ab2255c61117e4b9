/**
 * Admission while the telemetry lane is behind (issue 17's reconnect storm). A device let in starts sending at once
 * — after an outage a backlog, several QoS 1 publishes in flight — and every publish waits behind the others in
 * the lane: ten thousand devices let in together queue over a hundred thousand publishes, and each PUBACK waits
 * tens of seconds. Let in as fast as the lane drains, the devices already connected keep getting their PUBACKs
 * within about `maxLaneWait`.
 *
 * So a CONNECT whose credentials are good waits for its CONNACK while the gateway is behind: the lane's estimate of
 * the wait for a publish submitted now, or the broker's event loop's own lateness, is `maxLaneWait` or more. Held
 * CONNECTs are let in oldest first, at most ADMIT_PER_CHECK every CHECK_EVERY_MS, and so are CONNECTs that find
 * the gateway keeping up (a burst of CONNECTs is admitted at that rate too: their publishes reach the lane only
 * after their CONNACK, too late for the lane's wait to show them). A CONNECT held `maxHold` gets CONNACK 3 (server
 * unavailable), after which an MQTT client retries in its reconnect period. However far behind the lane stays, the
 * oldest held CONNECT is let in once nobody was for a second (FLOOR_AFTER_MS).
 */
export interface AdmissionLimits {
  /** Let devices in while a publish would wait less than this for its verdict, ms. */
  maxLaneWait: number;
  /** The longest a CONNECT waits for room before it is refused, ms. */
  maxHold: number;
}

export interface AdmissionDeps {
  /** How long a publish submitted now would wait for its verdict, ms (TelemetryLane.delay). */
  laneDelay(): number;
  /** A monotonic clock for the holds and the event loop's lateness, ms (default performance.now). */
  clock?(): number;
  /** Told the number of CONNECTs held whenever it changes (the `gateway_mqtt_connects_held` gauge). */
  holding?(count: number): void;
}

export interface Admission {
  /**
   * `done(true)` once the device may have its CONNACK (at once while the gateway keeps up), `done(false)` when
   * it waited `maxHold` (or the gateway closes, or has closed). A CONNECT whose connection is `gone` meanwhile gets
   * `done(false)` at the next check without using a place (the caller sees its connection gone).
   */
  admit(done: (admitted: boolean) => void, gone: () => boolean): void;
  /** CONNECTs waiting for room now. */
  readonly holding: number;
  close(): void;
}

export const CHECK_EVERY_MS = 20;
/** 2,500 devices a second at most: each brings its publishes in flight, which the lane sees only after CONNACK. */
export const ADMIT_PER_CHECK = 50;
/**
 * However long the lane stays behind (devices already in keep it so, a slow disk), once nobody was let in for
 * FLOOR_AFTER_MS the oldest held CONNECT is: a device is never kept out for good. A storm, where devices are let in
 * all the time as the lane catches up, never reaches it (a floor of ten a second tried first kept the lane behind).
 */
export const FLOOR_AFTER_MS = 1_000;

interface Held {
  since: number;
  done: (admitted: boolean) => void;
  gone: () => boolean;
}

export function createAdmission(deps: AdmissionDeps, limits: AdmissionLimits): Admission {
  /** Held CONNECTs from `head` on, oldest first. */
  let held: Held[] = [];
  let head = 0;
  let budget = ADMIT_PER_CHECK;
  /** How much later than due the last check ran: the broker's event loop behind (an inline lane judging a storm). */
  let lateBy = 0;
  const clock = deps.clock ?? (() => performance.now());
  let lastCheck = clock();
  let lastAdmitted = lastCheck;
  let closed = false;

  const behind = (): boolean => Math.max(deps.laneDelay(), lateBy) >= limits.maxLaneWait;
  const told = (): void => deps.holding?.(held.length - head);

  const check = (): void => {
    const now = clock();
    lateBy = Math.max(0, now - lastCheck - CHECK_EVERY_MS);
    lastCheck = now;
    budget = ADMIT_PER_CHECK;
    let floor = now - lastAdmitted >= FLOOR_AFTER_MS;
    const before = head;
    while (head < held.length) {
      const next = held[head] as Held;
      if (next.gone()) {
        head += 1;
        next.done(false);
      } else if (now - next.since >= limits.maxHold) {
        head += 1;
        next.done(false);
      } else if (floor || (budget > 0 && !behind())) {
        floor = false;
        head += 1;
        budget -= 1;
        lastAdmitted = now;
        next.done(true);
      } else break;
    }
    if (head === before) return;
    if (head === held.length) {
      held = [];
      head = 0;
    } else if (head > 1024) {
      held = held.slice(head);
      head = 0;
    }
    told();
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  timer.unref();

  return {
    admit(done, gone) {
      if (closed) return done(false);
      if (head === held.length && budget > 0 && !behind()) {
        budget -= 1;
        lastAdmitted = clock();
        done(true);
        return;
      }
      held.push({ since: clock(), done, gone });
      told();
    },
    get holding() {
      return held.length - head;
    },
    close() {
      closed = true;
      clearInterval(timer);
      const refused = held.slice(head);
      held = [];
      head = 0;
      told();
      for (const connect of refused) connect.done(false);
    },
  };
}
