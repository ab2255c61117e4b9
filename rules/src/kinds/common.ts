import { z } from 'zod';
import type { CompiledExpr } from '../expression/ast.js';
import type { ExprEnv } from '../expression/evaluate.js';
import { evaluate } from '../expression/evaluate.js';
import type { MetricValue, Reading } from '../reading.js';
import { outsideRange, type RuleContext, renderMessage, roundForMessage } from '../rule-kind.js';
import type { Severity } from '../severity.js';
import type { ActiveVerdict, Verdict, VerdictDetail } from '../verdict.js';

/** `samples: {n, m}`: a level counts only when n of the last m samples call for it. */
export const samplesSchema = z
  .strictObject({ n: z.number().int().min(1), m: z.number().int().min(1).max(64) })
  .refine((s) => s.n <= s.m, { message: 'n must be ≤ m', path: ['n'] });

/** A `when` guard: the rule applies only while it is known to be true. No guard: always. */
export const guardHolds = (when: CompiledExpr | undefined, env: ExprEnv): boolean => when === undefined || evaluate(when.ast, env) === true;

/**
 * The clear's texts when the rule's guard stopped holding (a cast ended, the fan stopped): the alarm ends because the
 * rule no longer applies, not because the value came back — "back to normal: 0.081 MPa, above 0.18 MPa" said what was
 * not so. Null while the guard holds (or there is none): the kind's own "back to normal".
 */
export function guardEndedTexts(
  def: RuleTexts & { metric?: string; when?: CompiledExpr | undefined },
  env: ExprEnv,
): { template: string; templateZh: string; guardEnded: true } | null {
  if (def.when === undefined || guardHolds(def.when, env)) return null;
  const name = def.name ?? def.metric ?? def.id;
  return {
    template: def.when_name
      ? `${name}: no longer judged, ${def.when_name} ended`
      : `${name}: not judged while ${def.when.src} does not hold`,
    templateZh: def.when_name_zh
      ? `${nameZhOf(def)}：${def.when_name_zh}结束，停止判定`
      : `${nameZhOf(def)}：${def.when.src} 不成立，暂停判定`,
    guardEnded: true,
  };
}

/**
 * The reading's value of `metric` as a sample to aggregate (a rate, a window), or null: none, or outside the sensor's
 * physical range — the `range` kind's sensor fault (an open thermocouple's −50 °C), which would make a rise of 85 °C
 * a minute when the sensor reads again.
 */
export function sampleOf(reading: Reading, metric: string, ctx: RuleContext): number | null {
  const value = reading.metrics[metric];
  if (typeof value !== 'number') return null;
  return outsideRange(ctx.rangeOf(metric), value) ? null : value;
}

/** Whether a reading carries any of the names an expression reads (so it may change the guard's value). */
export function touches(expr: CompiledExpr | undefined, reading: Reading): boolean {
  if (!expr) return false;
  for (const name of expr.metrics) if (name in reading.metrics) return true;
  return false;
}

/** The texts of a rule that messages are made from. */
export interface RuleTexts {
  id: string;
  name?: string | undefined;
  name_zh?: string | undefined;
  message_zh?: string | undefined;
  clear_message?: string | undefined;
  clear_message_zh?: string | undefined;
  when_name?: string | undefined;
  when_name_zh?: string | undefined;
}

/** The rule's name for Chinese messages: `name_zh`, else its English name, else its id. */
export const nameZhOf = (def: RuleTexts): string => def.name_zh ?? def.name ?? def.id;

export interface ActiveFields {
  severity: Severity;
  metric: string | null;
  value: MetricValue | null;
  threshold: number | null;
  template: string;
  /** The kind's Chinese template; the rule's `message_zh` wins; neither: the Chinese name and the English message. */
  templateZh?: string | undefined;
  /** The unit of `value` when it is not the metric's own (a rate: °C/min; a count: none). */
  unit?: string | null | undefined;
  def: RuleTexts;
  ctx: RuleContext;
}

/** A space the empty unit left before a comma or a closing parenthesis. */
const NO_UNIT_GAP = / (?=[,，)）（])/g;

function detailOf(fields: Omit<ActiveFields, 'severity'>, severity: Severity | null, zhTemplate: string | undefined): VerdictDetail {
  const unit = fields.unit !== undefined ? fields.unit : fields.metric === null ? null : fields.ctx.unitOf(fields.metric);
  // a level computed from attributes (0.7 × 0.2 MPa) is 0.13999999999999999 in binary: shown and sent as 0.14
  const threshold = fields.threshold === null ? null : roundForMessage(fields.threshold);
  const values = {
    value: fields.value,
    threshold,
    // a metric without a unit (a derived one has no profile spec) shows none, not the `{unit}` placeholder
    unit: unit ?? '',
    metric: fields.metric,
    severity,
    device: fields.ctx.device.device,
    site: fields.ctx.device.site,
  };
  // without a unit, "{value} {unit}, …" would leave a space before the comma
  const render = (template: string): string => {
    const text = renderMessage(template, values);
    return unit ? text : text.replace(NO_UNIT_GAP, '');
  };
  const message = render(fields.template);
  return {
    metric: fields.metric,
    value: fields.value,
    threshold,
    unit,
    message,
    messageZh: zhTemplate === undefined ? `${nameZhOf(fields.def)}：${message}` : render(zhTemplate),
  };
}

/** A `true` verdict with its messages rendered from the rule's templates (or the kind's defaults). */
export function active(fields: ActiveFields): Verdict {
  const d = detailOf(fields, fields.severity, fields.def.message_zh ?? fields.templateZh);
  return {
    status: 'true',
    severity: fields.severity,
    metric: d.metric,
    value: d.value,
    threshold: d.threshold,
    unit: d.unit,
    message: d.message,
    messageZh: d.messageZh,
  };
}

/**
 * A `false` verdict that says what cleared it: the value judged at the clear, the clear value of the level left,
 * and a message of its own (never the raise-time text).
 */
export function cleared(fields: Omit<ActiveFields, 'severity'> & { guardEnded?: true }): Verdict {
  // the rule's own words for its condition ending; a guard that stopped holding is another end, said by the kind
  const own = fields.guardEnded ? {} : { template: fields.def.clear_message ?? fields.template };
  const zh = fields.guardEnded ? fields.templateZh : (fields.def.clear_message_zh ?? fields.templateZh);
  return { status: 'false', detail: detailOf({ ...fields, ...own }, null, zh) };
}

/** Adds the levels passed over on the way up (`CROSSED` of the last advance) as verdicts of their own. */
export function withCrossed(verdict: Verdict, crossed: readonly Severity[], build: (severity: Severity) => Verdict): Verdict {
  if (crossed.length === 0 || verdict.status !== 'true') return verdict;
  const list: ActiveVerdict[] = [];
  for (const severity of [...crossed]) {
    const v = build(severity);
    if (v.status === 'true') list.push(v);
  }
  return { ...verdict, crossed: list };
}

export const NORMAL_VERDICT: Verdict = { status: 'false' };
export const pendingVerdict = (dueAt: number | null): Verdict => ({ status: 'pending', dueAt });
