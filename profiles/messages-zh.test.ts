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
});
