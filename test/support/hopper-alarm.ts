import type { Alarm, Severity, VerdictChange } from '../../rules/src/index.js';

/** The rule engine raising dc-01's (or `device`'s) hopper temperature alarm at `severity`: 85 °C against 80 °C. */
export const hopperRaise = (device: string, severity: Severity, at: number, site = 'site-a'): VerdictChange => ({
  key: `${site}/${device}/hopper_temp_high`,
  site,
  device,
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: 'test',
  verdict: { status: 'true', severity, metric: 'hopper_temp', value: 85, threshold: 80, unit: '°C', message: 'hot' },
  at,
});

/** An open red hopper temperature alarm as the alarm book shows it (escalated from orange). */
export const HOPPER_ALARM: Alarm = {
  id: 'alm_1',
  key: 'site-a/dc-01/hopper_temp_high',
  seq: 2,
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: 'site-a/dc-01',
  severity: 'red',
  previousSeverity: 'orange',
  state: 'active',
  acknowledged: false,
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolved: false,
  resolvedBy: null,
  resolvedAt: null,
  note: null,
  metric: 'hopper_temp',
  value: 85.25,
  threshold: 80,
  unit: '°C',
  message: 'Hopper temperature 85.25 °C ≥ 80 °C',
  raisedAt: '2026-11-22T08:00:03.000Z',
  clearedAt: null,
  occurrences: 1,
};
