import { describe, expect, it } from 'vitest';
import { REWORDED } from '../rules/src/reworded-rules.js';
import { fingerprintDigestOf, fingerprintMatches } from '../rules/src/rule-set.js';
import { PROFILES } from './index.js';
import { loadProfileRules } from './test-support/harness.js';

describe('states saved before fingerprints left out the words (the 2026-12-06 upgrade)', () => {
  const shipped = [...PROFILES.values()].flatMap((profile) => loadProfileRules(profile).rules);

  it('each reworded rule saved then is matched by the rule the profiles ship now: its state and open alarms are kept', () => {
    expect(REWORDED.size).toBeGreaterThan(50);
    for (const [saved, judged] of REWORDED) {
      const rule = shipped.find((def) => fingerprintDigestOf(def) === judged);
      expect(rule, `no shipped rule judges as ${judged}`).toBeDefined();
      expect(fingerprintMatches(saved, rule as (typeof shipped)[number])).toBe(true);
    }
  });
});
