import { z } from 'zod';
import type { RuleKind } from '../rule-kind.js';
import { thresholdKind, thresholdRuleSchema } from './threshold.js';

/** Every rule definition, discriminated by `kind`. Add a kind: one file in this folder, one line here and below. */
export const ruleDefinitionSchema = z.discriminatedUnion('kind', [thresholdRuleSchema]);
export type RuleDefinition = z.infer<typeof ruleDefinitionSchema>;

// biome-ignore lint/suspicious/noExplicitAny: the registry erases each kind's own definition and state types
type AnyRuleKind = RuleKind<any, any>;

const KINDS: Record<RuleDefinition['kind'], AnyRuleKind> = {
  threshold: thresholdKind,
};

export function ruleKindOf(def: RuleDefinition): AnyRuleKind {
  return KINDS[def.kind];
}

export const RULE_KINDS = Object.keys(KINDS) as RuleDefinition['kind'][];
