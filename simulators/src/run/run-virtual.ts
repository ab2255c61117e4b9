import type { Scenario } from '../scenario/scenario-schema.js';
import type { DeviceAction } from './action.js';
import { createActionPlayer } from './action-player.js';
import { deviceActions } from './device-run.js';
import { mergeActions } from './merge-actions.js';
import type { VirtualClock } from './virtual-clock.js';

export interface VirtualRunOptions {
  scenario: Scenario;
  /** The gateway's MQTT listener. */
  url: string;
  secretOf(deviceId: string): string;
  /** The clock the gateway reads; the run moves it. */
  clock: VirtualClock;
  /**
   * Called with the virtual time whenever the run is about to move past it, after every message up to it was
   * acknowledged: let the gateway evaluate what arrived and run its timers (`await gw.settle(); gw.tick(t)`).
   */
  advance(t: number): Promise<void>;
  seed?: number;
}

export interface VirtualRunResult {
  start: number;
  end: number;
  published: number;
  readings: number;
  /** Every publish, in order, as sent. */
  actions: DeviceAction[];
}

export const scenarioStart = (scenario: Scenario): number => Date.parse(scenario.start);

/** Every action of every device of a scenario, merged in time order. Pure: the determinism tests compare these. */
export function scenarioActions(scenario: Scenario, seed = scenario.seed): Generator<DeviceAction> {
  const start = scenarioStart(scenario);
  const end = start + scenario.duration;
  return mergeActions(scenario.devices.map((device) => deviceActions({ device, timeline: scenario.timeline, seed, start, end })));
}

/**
 * Plays a scenario through a real broker in virtual time, as fast as the gateway acknowledges: real MQTT
 * clients with their own credentials, device timestamps from the virtual clock, the gateway's clock moved
 * in steps of the scenario's `tick` so that its timers (on-delays, silence) fire at the right virtual time.
 */
export async function runVirtual(options: VirtualRunOptions): Promise<VirtualRunResult> {
  const { scenario, clock } = options;
  const start = scenarioStart(scenario);
  const end = start + scenario.duration;
  const player = createActionPlayer({ url: options.url, scenario, secretOf: options.secretOf, qos: 1 });
  const result: VirtualRunResult = { start, end, published: 0, readings: 0, actions: [] };
  let nextTick = start;
  let dirty = true;

  const advanceAt = async (t: number): Promise<void> => {
    if (t > clock.now()) clock.set(t);
    await options.advance(t);
    dirty = false;
  };
  /** Settles the current instant, runs the gateway's timers at every tick before `t`, then sets the clock to `t`. */
  const moveTo = async (t: number): Promise<void> => {
    if (t <= clock.now()) return;
    if (dirty) await advanceAt(clock.now());
    for (; nextTick < t; nextTick += scenario.tick) if (nextTick > clock.now()) await advanceAt(nextTick);
    clock.set(t);
    dirty = true;
  };

  clock.set(start);
  try {
    for (const action of scenarioActions(scenario, options.seed)) {
      await moveTo(action.at);
      if ((await player.play(action)) && action.kind === 'publish') {
        result.published += 1;
        result.readings += action.readings;
        result.actions.push(action);
      }
      dirty = true;
    }
    await moveTo(end);
    await options.advance(clock.now());
  } finally {
    await player.closeAll(false);
  }
  return result;
}
