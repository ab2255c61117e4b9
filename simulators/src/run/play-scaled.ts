import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from '../scenario/scenario-schema.js';
import { createActionPlayer } from './action-player.js';
import { deviceActions } from './device-run.js';
import { mergeActions } from './merge-actions.js';

export interface ScaledPlayOptions {
  url: string;
  scenario: Scenario;
  secretOf(deviceId: string): string;
  /** Virtual milliseconds per real millisecond; `Infinity` plays as fast as the gateway acknowledges. */
  speed: number;
  /** Virtual start (epoch ms); default {@link scaledStart}. */
  start?: number;
  /** The clock to play by (and to read scenario time from while playing); default a new {@link createScaledClock}. */
  clock?: ScaledClock;
  /**
   * For a gateway on `clock.now`: called at every scenario `tick` (as the clock reaches it, at a finite speed) with
   * every message before it acknowledged, to let the gateway evaluate them and run its timers at that time
   * (`await gw.settle(); gw.tick(t)`), as `runVirtual` does: on-delays and silence then end at the tick they are due.
   */
  advance?(t: number): Promise<void>;
  seed?: number;
  qos?: 0 | 1;
  signal?: AbortSignal;
  onError?(device: string, error: Error): void;
}

export interface ScaledPlayResult {
  start: number;
  end: number;
  sent: number;
  readings: number;
  errors: number;
}

/**
 * The virtual start that keeps every device timestamp at or before the real time it is sent, so a gateway
 * that bounds clock skew (`ingest.maxClockAhead`) accepts them: the scenario ends at about the moment it
 * finishes playing (`now - duration` when played as fast as possible, `now` at speed 1).
 */
export const scaledStart = (durationMs: number, speed: number, now = Date.now()): number => Math.floor(now - durationMs * (1 - 1 / speed));

/**
 * Scenario time while a scenario plays in scaled time. A gateway on its own clock stamps what it decides between
 * readings (an on-delay running out on its timer, silence) with its wall time, which in scaled play is neither
 * scenario time nor near it; the scenario time such an alarm belongs to is the one being played when it arrives.
 */
export interface ScaledClock {
  readonly start: number;
  readonly end: number;
  readonly speed: number;
  /**
   * The scenario time being played: `start` until play begins; then, at a finite speed, advancing `speed` ms per
   * wall ms but never past the next action not yet acknowledged (a publish held up must not let a gateway on this
   * clock see its device as silent), and after such a hold going on from where it stopped, so that every gap
   * between actions lasts its scaled time; as fast as possible, the time of the action being played. Within
   * `start`…`end`. A gateway given this as its clock judges on-delays and silence in scenario time.
   */
  now(): number;
  /** Starts the clock (playScaled calls it; later calls change nothing). */
  begin(): void;
  /** Lets the clock run on up to `at`, the next action to play (playScaled calls it before each, and with `end` after the last). */
  until(at: number): void;
  /** The wall time (epoch ms) at which the clock reaches `at` (at most the bound last given to {@link ScaledClock.until}). */
  wallTimeOf(at: number): number;
}

export function createScaledClock(options: { duration: number; speed: number; start?: number }): ScaledClock {
  const { speed } = options;
  const start = options.start ?? scaledStart(options.duration, speed);
  const end = start + options.duration;
  const finite = Number.isFinite(speed);
  let begun = false;
  let bound = start;
  // scenario time `anchorAt` was played at wall time `anchorWall`
  let anchorAt = start;
  let anchorWall = 0;
  const now = (): number => (begun && finite ? Math.min(bound, anchorAt + (Date.now() - anchorWall) * speed) : bound);
  return {
    start,
    end,
    speed,
    now,
    begin() {
      if (begun) return;
      begun = true;
      anchorWall = Date.now();
    },
    until(at) {
      if (begun && finite) {
        anchorAt = now();
        anchorWall = Date.now();
      }
      bound = Math.max(bound, Math.min(end, at));
    },
    wallTimeOf(at) {
      return finite ? anchorWall + (at - anchorAt) / speed : Date.now();
    },
  };
}

/**
 * Plays a scenario through a real broker in scaled time against a gateway on its own (real) clock: every
 * device its own MQTT client and credentials, payloads timestamped in virtual time, all devices' actions in
 * one time order, each publish acknowledged (QoS 1) before the next, the gaps between them `speed` times shorter
 * (the run takes longer than `duration / speed` when the gateway acknowledges more slowly than that). A gateway on
 * the wall clock judges what it evaluates between readings (silence, on-delays) on that clock, which runs ahead of
 * the readings' times; one given `clock.now` as its clock judges it in scenario time.
 */
export async function playScaled(options: ScaledPlayOptions): Promise<ScaledPlayResult> {
  const { scenario } = options;
  const clock =
    options.clock ??
    createScaledClock({
      duration: scenario.duration,
      speed: options.speed,
      ...(options.start === undefined ? {} : { start: options.start }),
    });
  clock.begin();
  const { start, end, speed } = clock;
  const seed = options.seed ?? scenario.seed;
  const player = createActionPlayer({ url: options.url, scenario, secretOf: options.secretOf, qos: options.qos ?? 1 });
  const result: ScaledPlayResult = { start, end, sent: 0, readings: 0, errors: 0 };
  const fail = (device: string, error: Error): void => {
    result.errors += 1;
    options.onError?.(device, error);
  };
  const actions = mergeActions(scenario.devices.map((device) => deviceActions({ device, timeline: scenario.timeline, seed, start, end })));
  const waitFor = async (at: number): Promise<void> => {
    if (!Number.isFinite(speed)) return;
    const wait = clock.wallTimeOf(at) - Date.now();
    if (wait > 0) await sleep(wait, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
  };
  let nextTick = start + scenario.tick;
  /** The gateway's timers at every tick before `at` (with `advance`), each when the clock reaches it. */
  const ticksBefore = async (at: number): Promise<void> => {
    if (!options.advance) return;
    for (; nextTick < at && !options.signal?.aborted; nextTick += scenario.tick) {
      await waitFor(nextTick);
      await options.advance(nextTick);
    }
  };
  try {
    for (const action of actions) {
      if (options.signal?.aborted) break;
      clock.until(action.at);
      await ticksBefore(action.at);
      await waitFor(action.at);
      try {
        if ((await player.play(action)) && action.kind === 'publish') {
          result.sent += 1;
          result.readings += action.readings;
        }
      } catch (error) {
        fail(action.device, error as Error);
      }
    }
    // At a finite speed the scenario runs on to its end; as fast as possible it ends with its last action.
    if (Number.isFinite(speed) && !options.signal?.aborted) {
      clock.until(end);
      await ticksBefore(end + 1);
    }
  } finally {
    await player.closeAll(true);
  }
  return result;
}
