import type { RegisteredDevice } from '../devices/device-registry.js';
import type { HeldDevice, LaneVerdict, TelemetryLane } from './telemetry-lane.js';

/**
 * A publish held longer than this (from its arrival to its verdict) is a hold the rule engine hears of: below
 * it, a lane's ordinary latency, far under any silence step.
 */
export const HOLD_NOTED_MS = 1_000;

/**
 * The lane as watched: it also hears of the CONNECTs the broker holds (admission) and tells the engine of them as of
 * publishes held — while they wait (since when, until now) and once they ended — from HOLD_NOTED_MS on.
 */
export interface WatchedLane extends TelemetryLane {
  /** A CONNECT of the device waits for admission from `since`. */
  connectWaits(device: string, since: number): void;
  /** That CONNECT was let in, refused or dropped at `until`. */
  connectDone(device: string, until: number): void;
}

/**
 * The lane with the publishes it holds watched, device by device: every tick tells the engine which devices had
 * publishes waiting for a verdict (since when, until when), so that a device whose data waits in a lane that fell
 * behind — a reconnect storm, a slow disk — is not judged silent for the gateway's own delay (`RuleEngine.held`).
 * A device is held while its oldest publish without a verdict has waited HOLD_NOTED_MS or more, from that
 * publish's arrival. A CONNECT the broker holds as long (admission) is told too: the device is trying to report.
 */
export function watchHolds(lane: TelemetryLane, now: () => number): WatchedLane {
  /** Arrivals of the publishes of each device that wait for a verdict, oldest first. */
  const waiting = new Map<string, number[]>();
  /** Holds that ended since the last tick (a verdict HOLD_NOTED_MS or more after its publish's arrival). */
  let ended = new Map<string, { since: number; until: number }>();
  /** Per device, its CONNECTs waiting for admission: how many, and since when the oldest waits. */
  const connecting = new Map<string, { count: number; since: number }>();
  /** CONNECT holds of HOLD_NOTED_MS or more that ended since the last tick. */
  let connectEnded: HeldDevice[] = [];

  const decided = (device: string, receivedAt: number): void => {
    const arrivals = waiting.get(device);
    if (arrivals) {
      // verdicts come back in the order of submission: the first is nearly always this one
      const at = arrivals.indexOf(receivedAt);
      if (at >= 0) arrivals.splice(at, 1);
      if (arrivals.length === 0) waiting.delete(device);
    }
    const judgedAt = now();
    if (judgedAt - receivedAt < HOLD_NOTED_MS) return;
    const hold = ended.get(device);
    if (hold) {
      hold.since = Math.min(hold.since, receivedAt);
      hold.until = Math.max(hold.until, judgedAt);
    } else ended.set(device, { since: receivedAt, until: judgedAt });
  };

  const holdsAt = (at: number): HeldDevice[] => {
    const holds: HeldDevice[] = [];
    for (const [device, arrivals] of waiting) {
      const oldest = arrivals[0] as number;
      const hold = ended.get(device);
      // a hold that ended meanwhile counts even when the publish waiting now is fresh: the device is heard until now
      if (hold) holds.push({ device, since: Math.min(hold.since, oldest), until: at });
      else if (at - oldest >= HOLD_NOTED_MS) holds.push({ device, since: oldest, until: at });
    }
    for (const [device, hold] of ended) if (!waiting.has(device)) holds.push({ device, since: hold.since, until: hold.until });
    ended = new Map();
    for (const [device, wait] of connecting)
      if (at - wait.since >= HOLD_NOTED_MS) holds.push({ device, since: wait.since, until: at, connecting: true });
    for (const hold of connectEnded) holds.push(hold);
    connectEnded = [];
    return holds;
  };

  return {
    ...lane,
    submit(device: RegisteredDevice, payload: Buffer, receivedAt: number, done: (verdict: LaneVerdict) => void) {
      const arrivals = waiting.get(device.id);
      if (arrivals) arrivals.push(receivedAt);
      else waiting.set(device.id, [receivedAt]);
      lane.submit(device, payload, receivedAt, (verdict) => {
        decided(device.id, receivedAt);
        done(verdict);
      });
    },
    tick(at: number) {
      const holds = holdsAt(at);
      lane.tick(at, holds.length > 0 ? holds : undefined);
    },
    connectWaits(device, since) {
      const wait = connecting.get(device);
      if (wait) wait.count += 1;
      else connecting.set(device, { count: 1, since });
    },
    connectDone(device, until) {
      const wait = connecting.get(device);
      if (!wait) return;
      wait.count -= 1;
      if (wait.count > 0) return;
      connecting.delete(device);
      if (until - wait.since >= HOLD_NOTED_MS) connectEnded.push({ device, since: wait.since, until, connecting: true });
    },
  };
}
