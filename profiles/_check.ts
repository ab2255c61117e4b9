import { PROFILES } from './index.js';
import { ruleSetProblems } from './test-support/harness.js';

console.log(ruleSetProblems([...PROFILES.values()]));
