import { z } from 'zod';
import { durationSchema } from '../duration.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { expressionSchema, type NumberOrExpression, numberOrExpressionSchema, resolveNumber } from '../expression/expression-schema.js';
import type { RuleContext } from '../rule-kind.js';
import { compareSeverity, SEVERITIES, type Severity, severityRank } from '../severity.js';
import type { Verdict } from '../verdict.js';

/**
 * Levels by severity with hysteresis and on/off delays: the shared machinery of threshold, rate and window
 * rules. A level is entered at `raise` and left only when the value passes back over `clear`.
 */
export const levelSchema = z.strictObject({
  /** The value at which the level is entered (≥ for `above`, ≤ for `below`): a number or an expression. */
  raise: numberOrExpressionSchema,
  /** The value the signal must pass back over to leave the level (hysteresis); defaults to `raise`. */
  clear: numberOrExpressionSchema.optional(),
  /** Overrides the rule's `onDelay` for entering this level. */
  onDelay: durationSchema.optional(),
});
export type Level = z.infer<typeof levelSchema>;

export const levelsSchema = z.strictObject({
  blue: levelSchema.optional(),
  yellow: levelSchema.optional(),
  orange: levelSchema.optional(),
  red: levelSchema.optional(),
});
export type Levels = z.infer<typeof levelsSchema>;

export const directionSchema = z.enum(['above', 'below']);

/**
 * `latch: until_acknowledged`: once raised, the alarm does not clear or de-escalate until a duty officer
 * acknowledges it (`engine.acknowledge`); it clears then if the condition has ended, or later when it ends.
 */
export const latchSchema = z.enum(['until_acknowledged']).optional();
export type Direction = z.infer<typeof directionSchema>;

/** The fields every leveled kind (threshold, rate, window) shares: its levels, delays, latch and guard. */
export const leveledFields = {
  levels: levelsSchema,
  /** The condition must hold this long before the alarm is raised or escalated (per level: `levels.x.onDelay`). */
  onDelay: durationSchema.default(0),
  /** The value must be back to normal this long before the alarm clears or de-escalates. */
  offDelay: durationSchema.default(0),
  /** `until_acknowledged`: once raised, held until a duty officer acknowledges the alarm. */
  latch: latchSchema,
  /** The rule applies only while this expression holds (otherwise it is normal). */
  when: expressionSchema.optional(),
};

/** Static checks of a level table: clear on the normal side of raise, more severe levels further out. */
export function checkLevels(levels: Levels, direction: Direction, ctx: z.RefinementCtx, path: PropertyKey[] = ['levels']): void {
  const above = direction === 'above';
  let previous: number | null = null;
  let defined = 0;
  for (const severity of SEVERITIES) {
    const level = levels[severity];
    if (!level) continue;
    defined += 1;
    const raise = typeof level.raise === 'number' ? level.raise : null;
    const clear = level.clear === undefined ? raise : typeof level.clear === 'number' ? level.clear : null;
    if (raise !== null && clear !== null && (above ? clear > raise : clear < raise)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, severity, 'clear'],
        message: `clear must be on the normal side of raise (${above ? '≤' : '≥'} ${raise}) for direction ${direction}`,
      });
    }
    if (raise !== null && previous !== null && (above ? raise <= previous : raise >= previous)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, severity, 'raise'],
        message: `a more severe level must be ${above ? 'higher' : 'lower'} than the one below it (${previous})`,
      });
    }
    if (raise !== null) previous = raise;
  }
  if (defined === 0) ctx.addIssue({ code: 'custom', path, message: 'at least one level is required' });
}

/** A level with its numbers resolved for one device. */
export interface ResolvedLevel {
  severity: Severity;
  raise: number;
  clear: number;
  onDelay: number | undefined;
}

/** Resolved constant levels, kept on the levels object itself (a symbol key: invisible to JSON and fingerprints). */
const RESOLVED: unique symbol = Symbol('resolved levels');
type CachedLevels = Levels & { [RESOLVED]?: ResolvedLevel[] | null };

const isConstant = (x: NumberOrExpression | undefined): boolean => x === undefined || typeof x === 'number';

/** Levels blue → red with numbers resolved against the device; a level whose numbers are unknown is skipped. */
export function resolveLevels(levels: Levels, env: ExprEnv): ResolvedLevel[] {
  const holder = levels as CachedLevels;
  let cached = holder[RESOLVED];
  if (cached === undefined) {
    const constant = SEVERITIES.every((s) => {
      const level = levels[s];
      return !level || (isConstant(level.raise) && isConstant(level.clear));
    });
    cached = constant ? resolveNow(levels, env) : null;
    Object.defineProperty(holder, RESOLVED, { value: cached, enumerable: false });
  }
  return cached ?? resolveNow(levels, env);
}

function resolveNow(levels: Levels, env: ExprEnv): ResolvedLevel[] {
  const out: ResolvedLevel[] = [];
  for (const severity of SEVERITIES) {
    const level = levels[severity];
    if (!level) continue;
    const raise = resolveNumber(level.raise, env);
    if (raise === null) continue;
    const clear = level.clear === undefined ? raise : resolveNumber(level.clear, env);
    out.push({ severity, raise, clear: clear ?? raise, onDelay: level.onDelay });
  }
  return out;
}

/** The level a value calls for, given the committed level (hysteresis holds levels at or below it). */
export function targetLevel(
  levels: readonly ResolvedLevel[],
  direction: Direction,
  value: number,
  committed: Severity | null,
): Severity | null {
  const above = direction === 'above';
  for (let i = levels.length - 1; i >= 0; i -= 1) {
    const level = levels[i] as ResolvedLevel;
    if (above ? value >= level.raise : value <= level.raise) return level.severity;
    if (compareSeverity(level.severity, committed) <= 0 && (above ? value >= level.clear : value <= level.clear)) return level.severity;
  }
  return null;
}

/**
 * The committed level and the move away from it that is waiting for its delay. Threshold, rate and window
 * rules keep it as `state.lv`, expression rules as their whole state: always made by `initialLevelState` or
 * `levelStateFrom`, so every rule's level state has one shape and the shared code below stays monomorphic.
 */
export interface LevelState {
  level: Severity | null;
  /** The level the signal calls for now (what a pending move leads to). */
  target: Severity | null;
  /** When the current move away from `level` started (the earliest onset of a pending level); null when none is pending. */
  pendingSince: number | null;
  /** Direction of the pending move (a reversal restarts the delay). */
  pendingUp: boolean;
  /** Latching rules: the level held until acknowledged (null: none). */
  latched: Severity | null;
  /**
   * Per level blue … red, above the committed one: since when the signal has called for that level or a higher
   * one (null: it does not). Each level is entered after its own on-delay, so a signal that passes yellow on the
   * way to orange shows yellow first, then orange.
   */
  since: Array<number | null>;
  /** Expression rules that read the local time: the next local hour boundary, when they are judged again on the clock. */
  clockAt: number | null;
}

export const initialLevelState = (): LevelState => ({
  level: null,
  target: null,
  pendingSince: null,
  pendingUp: false,
  latched: null,
  since: [null, null, null, null],
  clockAt: null,
});

const severityOrNull = (x: unknown): Severity | null =>
  typeof x === 'string' && (SEVERITIES as readonly string[]).includes(x) ? (x as Severity) : null;

/** A level state restored from a snapshot (a snapshot's plain object, or the flat fields of a version 1 state). */
export function levelStateFrom(saved: unknown): LevelState {
  const s = (saved ?? {}) as Record<string, unknown>;
  const state = initialLevelState();
  state.level = severityOrNull(s.level);
  state.target = severityOrNull(s.target);
  state.pendingSince = typeof s.pendingSince === 'number' ? s.pendingSince : null;
  state.pendingUp = s.pendingUp === true;
  state.latched = severityOrNull(s.latched);
  state.clockAt = typeof s.clockAt === 'number' ? s.clockAt : null;
  if (Array.isArray(s.since) && s.since.length === 4) {
    state.since = s.since.map((x) => (typeof x === 'number' ? x : null));
  } else if (state.pendingUp && state.pendingSince !== null) {
    // older snapshots kept one onset for the whole upward move: every level up to the target started then
    for (let r = severityRank(state.level) + 1; r <= severityRank(state.target); r += 1) state.since[r - 1] = state.pendingSince;
  }
  return state;
}

export interface Delays {
  onDelay: number;
  offDelay: number;
  levels?: Levels | undefined;
  latch?: 'until_acknowledged' | undefined;
}

/** The delays of a rule, kept on the definition (a symbol key: invisible to JSON and fingerprints). */
const DELAYS: unique symbol = Symbol('delays');
type WithDelays = Delays & { [DELAYS]?: Delays };

/**
 * A rule's delays as one object of a fixed shape, made once per definition: the definitions of threshold,
 * rate, window and expression rules have different shapes, and `advance` would otherwise read all of them.
 */
export function delaysOf(def: Delays): Delays {
  const holder = def as WithDelays;
  let delays = holder[DELAYS];
  if (delays === undefined) {
    delays = { onDelay: def.onDelay, offDelay: def.offDelay, levels: def.levels, latch: def.latch };
    Object.defineProperty(holder, DELAYS, { value: delays, enumerable: false });
  }
  return delays;
}

const onDelayOf = (delays: Delays, rank: number): number => delays.levels?.[SEVERITIES[rank - 1] as Severity]?.onDelay ?? delays.onDelay;

/**
 * The levels passed over by the last `advance` that committed an upward move (lowest first, without the level
 * committed): every level crossed is shown as its own transition. One shared array, valid until the next `advance`.
 */
export const CROSSED: Severity[] = [];

/** Whether the last `advance` changed the committed level (a verdict then shows it, even with a further move pending). */
export const MOVE = { entered: false };

/** The earliest time a pending upward level completes its on-delay, or null. */
function upDue(state: LevelState, delays: Delays): number | null {
  let due: number | null = null;
  const since = state.since;
  for (let r = severityRank(state.level) + 1; r <= 4; r += 1) {
    const t = since[r - 1] as number | null;
    if (t === null) continue;
    const d = t + onDelayOf(delays, r);
    if (due === null || d < due) due = d;
  }
  return due;
}

/**
 * Moves the committed level towards `target` at `now`: each level above the committed one is entered once the
 * signal has called for it (or a higher one) for that level's on-delay, and levels passed over on the way are
 * reported in `CROSSED`; the alarm clears or de-escalates once the signal has been lower for the off-delay.
 * Returns the due time while a move is pending, else null.
 */
export function advance(state: LevelState, wanted: Severity | null, now: number, delays: Delays): number | null {
  state.target = wanted;
  if (CROSSED.length !== 0) CROSSED.length = 0;
  MOVE.entered = false;
  // the hot path, small enough to inline: the signal calls for the committed level and nothing is pending
  // (onsets are set only while a move is pending)
  if (wanted === state.level && state.pendingSince === null) return null;
  return move(state, wanted, now, delays);
}

function move(state: LevelState, wanted: Severity | null, now: number, delays: Delays): number | null {
  // a latched level is a floor: the signal may raise the alarm further, never lower it
  const held = delays.latch === undefined ? null : state.latched;
  const target = held !== null && compareSeverity(wanted, held) < 0 ? held : wanted;
  const committed = severityRank(state.level);
  const wantedRank = severityRank(target);
  const since = state.since;
  for (let r = 1; r <= 4; r += 1) if ((r <= committed || r > wantedRank) && since[r - 1] !== null) since[r - 1] = null;
  if (wantedRank === committed) {
    state.pendingSince = null;
    return null;
  }
  if (wantedRank > committed) {
    if (!state.pendingUp) state.pendingSince = null;
    state.pendingUp = true;
    let enter = 0;
    for (let r = committed + 1; r <= wantedRank; r += 1) {
      // only levels the rule defines (a single-severity rule has just its own)
      if (r !== wantedRank && delays.levels?.[SEVERITIES[r - 1] as Severity] === undefined) continue;
      if (since[r - 1] === null) since[r - 1] = now;
      if (now >= (since[r - 1] as number) + onDelayOf(delays, r)) enter = r;
    }
    if (enter > 0) {
      for (let r = committed + 1; r < enter; r += 1) if (since[r - 1] !== null) CROSSED.push(SEVERITIES[r - 1] as Severity);
      for (let r = 1; r <= enter; r += 1) since[r - 1] = null;
      state.level = SEVERITIES[enter - 1] as Severity;
      MOVE.entered = true;
      // latch on every rise: a raise from normal, and an escalation — which asks for a new acknowledgement (the alarm
      // book's), also of an alarm acknowledged and let go at its lower level
      if (delays.latch !== undefined) state.latched = state.level;
    }
    const due = upDue(state, delays);
    let first: number | null = null;
    for (let r = severityRank(state.level) + 1; r <= 4; r += 1) {
      const t = since[r - 1] as number | null;
      if (t !== null && (first === null || t < first)) first = t;
    }
    state.pendingSince = first;
    if (due === null) state.pendingUp = false;
    return due;
  }
  if (state.pendingSince === null || state.pendingUp) {
    state.pendingSince = now;
    state.pendingUp = false;
  }
  const due = state.pendingSince + delays.offDelay;
  if (now >= due) {
    state.level = target;
    state.pendingSince = null;
    MOVE.entered = true;
    return null;
  }
  return due;
}

/** An acknowledgement: lets go of a latched level. True when there was one (re-advance to the signal's level then). */
export function releaseLatch(state: LevelState): boolean {
  if (state.latched === null) return false;
  state.latched = null;
  return true;
}

/** When a pending move will complete, or null. */
/** Time spent down does not count toward a pending move's delay: its onsets move on by `downMs`. */
export function resumeLevel(state: LevelState, downMs: number): void {
  if (state.pendingSince !== null) state.pendingSince += downMs;
  for (let i = 0; i < state.since.length; i += 1) {
    const since = state.since[i];
    if (since !== null && since !== undefined) state.since[i] = since + downMs;
  }
}

export function levelDueAt(state: LevelState, delays: Delays): number | null {
  if (state.pendingSince === null) return null;
  return state.pendingUp ? upDue(state, delays) : state.pendingSince + delays.offDelay;
}

/**
 * Advances like `advance` and tells whether anything the engine can see changed (the committed level, or
 * whether a move is pending): when not, kinds skip building a verdict — the hot path.
 */
export function advanceVisibly(state: LevelState, target: Severity | null, now: number, delays: Delays): Readonly<Visible> {
  const level = state.level;
  const wasPending = state.pendingSince !== null;
  const due = advance(state, target, now, delays);
  // one shared result object: read it at once (the hot path allocates nothing)
  VISIBLE.due = due;
  VISIBLE.changed = state.level !== level || (due !== null) !== wasPending;
  return VISIBLE;
}

interface Visible {
  due: number | null;
  changed: boolean;
}

const VISIBLE: Visible = { due: null, changed: false };

/**
 * The clock and acknowledgement steps of a kind whose level state is `state.lv` (threshold, rate): a due
 * move completes on a tick, an acknowledgement lets go of a latch and re-advances to the signal's level.
 * Cold paths: the per-reading step stays in each kind.
 */
export function levelTimerSteps<D extends Delays, S extends { lv: LevelState }>(
  verdictOf: (def: D, state: S, due: number | null, ctx: RuleContext, left: Severity | null) => Verdict,
) {
  return {
    onAcknowledge(def: D, state: S, ctx: RuleContext): Verdict | undefined {
      const lv = state.lv;
      const left = lv.level;
      return releaseLatch(lv) ? verdictOf(def, state, advance(lv, lv.target, ctx.now, delaysOf(def)), ctx, left) : undefined;
    },
    onTick(def: D, state: S, ctx: RuleContext): Verdict | undefined {
      const lv = state.lv;
      const due = levelDueAt(lv, delaysOf(def));
      if (due === null || ctx.now < due) return undefined;
      const left = lv.level;
      return verdictOf(def, state, advance(lv, lv.target, ctx.now, delaysOf(def)), ctx, left);
    },
    dueAt: (def: D, state: S): number | null => levelDueAt(state.lv, delaysOf(def)),
    onResume: (_def: D, state: S, downMs: number): void => resumeLevel(state.lv, downMs),
  };
}
