import { z } from 'zod';
import { type RuleDefinition, ruleDefinitionSchema } from './kinds/registry.js';

/** One rule file: the rules of one profile. */
export const ruleFileSchema = z
  .object({
    profile: z.string().min(1),
    rules: z.array(ruleDefinitionSchema),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, index) => {
      if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: ['rules', index, 'id'], message: `duplicate rule id "${rule.id}"` });
      seen.add(rule.id);
    });
  });
export type RuleFile = z.infer<typeof ruleFileSchema>;

/** Rules by profile id, as the engine uses them. */
export type RuleSet = ReadonlyMap<string, readonly RuleDefinition[]>;

export function ruleSetOf(files: readonly RuleFile[]): RuleSet {
  const set = new Map<string, RuleDefinition[]>();
  for (const file of files) {
    const rules = set.get(file.profile) ?? [];
    rules.push(...file.rules.filter((rule) => rule.enabled));
    set.set(file.profile, rules);
  }
  return set;
}
