import { z } from 'zod';
import type { RuleKind } from '../rule-kind.js';
import { expectKind, expectRuleSchema } from './expect.js';
import { expressionKind, expressionRuleSchema } from './expression.js';
import { groupKind, groupRuleSchema } from './group.js';
import { rangeKind, rangeRuleSchema } from './range.js';
import { rateKind, rateRuleSchema } from './rate.js';
import { silenceKind, silenceRuleSchema } from './silence.js';
import { stuckKind, stuckRuleSchema } from './stuck.js';
import { thresholdKind, thresholdRuleSchema } from './threshold.js';
import { windowKind, windowRuleSchema } from './window.js';

/** Every rule definition, discriminated by `kind`. Add a kind: one file in this folder, one line here and below. */
export const ruleDefinitionSchema = z.discriminatedUnion('kind', [
  thresholdRuleSchema,
  rateRuleSchema,
  silenceRuleSchema,
  stuckRuleSchema,
  rangeRuleSchema,
  windowRuleSchema,
  expressionRuleSchema,
  expectRuleSchema,
  groupRuleSchema,
]);
export type RuleDefinition = z.infer<typeof ruleDefinitionSchema>;

// biome-ignore lint/suspicious/noExplicitAny: the registry erases each kind's own definition and state types
type AnyRuleKind = RuleKind<any, any>;

const KINDS: Record<RuleDefinition['kind'], AnyRuleKind> = {
  threshold: thresholdKind,
  rate: rateKind,
  silence: silenceKind,
  stuck: stuckKind,
  range: rangeKind,
  window: windowKind,
  expression: expressionKind,
  expect: expectKind,
  group: groupKind,
};

export function ruleKindOf(def: RuleDefinition): AnyRuleKind {
  return KINDS[def.kind];
}

export const RULE_KINDS = Object.keys(KINDS) as RuleDefinition['kind'][];
