import type { RegisteredDevice } from '../devices/device-registry.js';
import type { HeldDevice, LaneVerdict, TelemetryLane } from './telemetry-lane.js';

/**
 * A publish held longer than this (from its arrival to its verdict) is a hold the rule engine hears of: below
 * it, a lane's ordinary latency, far under any silence step.
 */
export const HOLD_NOTED_MS = 1_000;

/**
 * The lane with the publishes it holds watched, device by device: every tick tells the engine which devices had
 * publishes waiting for a verdict (since when, until when), so that a device whose data waits in a lane that fell
 * behind — a reconnect storm, a slow disk — is not judged silent for the gateway's own delay (`RuleEngine.held`).
 * A device is held while its oldest publish without a verdict has waited HOLD_NOTED_MS or more, from that
 * publish's arrival.
 */
export function watchHolds(lane: TelemetryLane, now: () => number): TelemetryLane {
  /** Arrivals of the publishes of each device that wait for a verdict, oldest first. */
  const waiting = new Map<string, number[]>();
  /** Holds that ended since the last tick (a verdict HOLD_NOTED_MS or more after its publish's arrival). */
  let ended = new Map<string, { since: number; until: number }>();

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
  };
}
