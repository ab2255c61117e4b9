import type { z } from 'zod';
import type { alarmSchema } from '../../../../rules/src/index.js';

/** An alarm as the API shows it (contract §4), the example of the OpenAPI document (alarm routes, webhook events). */
export const EXAMPLE_ALARM = {
  id: 'alm_01JD7Q7M1V3N8B5QZ0K4XH2C9T',
  key: 'site-a/dc-01/hopper_temp_high',
  seq: 1,
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: 'site-a/dc-01',
  severity: 'orange',
  previousSeverity: null,
  state: 'active',
  acknowledged: false,
  acknowledgedBy: null,
  acknowledgedAt: null,
  resolved: false,
  resolvedBy: null,
  resolvedAt: null,
  note: null,
  metric: 'hopper_temp',
  value: 71.2,
  threshold: 70,
  unit: '°C',
  message: 'Hopper temperature 71.2 °C ≥ 70 °C',
  raisedAt: '2026-11-22T08:00:03.000Z',
  clearedAt: null,
  occurrences: 1,
} as const satisfies z.input<typeof alarmSchema>;
