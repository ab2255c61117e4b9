/**
 * Shipped scenarios whose expectations (what a plant engineer expects) the profile rules do not meet yet.
 * Each is a finding for the rule or profile owner; when it is fixed, its test fails here — remove the entry.
 */
export const KNOWN_RULE_FINDINGS: Record<string, string> = {};
