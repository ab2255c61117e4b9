import { describe, expect, it } from 'vitest';
import { PROFILES } from './index.js';
import { loadProfileRules } from './test-support/harness.js';

describe('Chinese alarm text (messageZh)', () => {
  it('every rule of every profile has a Chinese name for messageZh', () => {
    const missing: string[] = [];
    for (const profile of PROFILES.values()) {
      for (const rule of loadProfileRules(profile).rules) {
        if (!/[\u4e00-\u9fff]/.test(rule.name_zh ?? '')) missing.push(`${profile.id}/${rule.id}`);
      }
    }
    expect(missing).toEqual([]);
  });

  // a custom English message carries what the kind's wording cannot ("stop work and evacuate", "casting not
  // permitted"): without its Chinese twin a WeCom card showed the Chinese name and then the English sentence
  it('every rule with a message, clear_message or when_name has its Chinese twin, with the same placeholders', () => {
    const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
    const mismatched: string[] = [];
    for (const profile of PROFILES.values()) {
      for (const rule of loadProfileRules(profile).rules) {
        const pairs = [
          ['message', rule.message, rule.message_zh],
          ['clear_message', rule.clear_message, rule.clear_message_zh],
          ['when_name', rule.when_name, rule.when_name_zh],
        ] as const;
        const expectations = rule.kind === 'expect' ? (rule.expect as Array<{ name?: string; name_zh?: string }>) : [];
        for (const [i, e] of expectations.entries()) {
          if (e.name !== undefined && !/[\u4e00-\u9fff]/.test(e.name_zh ?? ''))
            mismatched.push(`${profile.id}/${rule.id}: no Chinese expect[${i}].name_zh`);
        }
        for (const [field, en, zh] of pairs) {
          if (en === undefined) continue;
          if (zh === undefined || !/[\u4e00-\u9fff]/.test(zh)) mismatched.push(`${profile.id}/${rule.id}: no Chinese ${field}_zh`);
          else if (placeholders(zh).join() !== placeholders(en).join()) {
            mismatched.push(
              `${profile.id}/${rule.id}: {${placeholders(en).join('} {')}} in ${field}, {${placeholders(zh).join('} {')}} in ${field}_zh`,
            );
          }
        }
      }
    }
    expect(mismatched).toEqual([]);
  });
});
