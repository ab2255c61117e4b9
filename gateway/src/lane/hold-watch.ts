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
 * A device is held from the arrival of its oldest publish without a verdict until its last one has one.
 */
export function watchHolds(lane: TelemetryLane, now: () => number): TelemetryLane {
  /** Devices with publishes waiting: how many, and the arrival of the oldest since the device had none. */
  const waiting = new Map<string, { count: number; since: number }>();
  /** Holds that ended (or went on) since the last tick, longer than HOLD_NOTED_MS. */
  let ended = new Map<string, { since: number; until: number }>();

  const decided = (device: string, receivedAt: number): void => {
    const entry = waiting.get(device);
    if (entry) {
      entry.count -= 1;
      if (entry.count <= 0) waiting.delete(device);
    }
    const at = now();
    if (at - receivedAt < HOLD_NOTED_MS) return;
    const hold = ended.get(device);
    if (hold) {
      hold.since = Math.min(hold.since, receivedAt);
      hold.until = Math.max(hold.until, at);
    } else ended.set(device, { since: receivedAt, until: at });
  };

  const holdsAt = (at: number): HeldDevice[] => {
    const holds: HeldDevice[] = [];
    for (const [device, entry] of waiting) if (at - entry.since >= HOLD_NOTED_MS) holds.push({ device, since: entry.since, until: at });
    // a device still waiting is told from its oldest waiting arrival until now: that covers what ended meanwhile
    for (const [device, hold] of ended) if (!waiting.has(device)) holds.push({ device, since: hold.since, until: hold.until });
    ended = new Map();
    return holds;
  };

  return {
    ...lane,
    submit(device: RegisteredDevice, payload: Buffer, receivedAt: number, done: (verdict: LaneVerdict) => void) {
      const entry = waiting.get(device.id);
      if (entry) entry.count += 1;
      else waiting.set(device.id, { count: 1, since: receivedAt });
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
