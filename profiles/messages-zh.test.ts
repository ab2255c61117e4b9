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
  it('every rule with a message has a message_zh with the same placeholders', () => {
    const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
    const mismatched: string[] = [];
    for (const profile of PROFILES.values()) {
      for (const rule of loadProfileRules(profile).rules) {
        if (rule.message === undefined) continue;
        const zh = rule.message_zh;
        if (zh === undefined || !/[\u4e00-\u9fff]/.test(zh)) mismatched.push(`${profile.id}/${rule.id}: no Chinese message_zh`);
        else if (placeholders(zh).join() !== placeholders(rule.message).join()) {
          mismatched.push(
            `${profile.id}/${rule.id}: {${placeholders(rule.message).join('} {')}} in message, {${placeholders(zh).join('} {')}} in message_zh`,
          );
        }
      }
    }
    expect(mismatched).toEqual([]);
  });
});
