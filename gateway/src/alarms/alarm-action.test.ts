import { describe, expect, it } from 'vitest';
import { type AlarmEvent, createAlarmBook, type VerdictChange } from '../../../rules/src/index.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { performAlarmAction } from './alarm-action.js';
import { createAlarmService } from './alarm-service.js';

const change = (status: 'true' | 'false', at: number): VerdictChange => ({
  key: 'site-a/dc-01/hopper_temp_high',
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  rule: 'hopper_temp_high',
  source: 'test',
  verdict:
    status === 'true'
      ? { status, severity: 'orange', metric: 'hopper_temp', value: 85, threshold: 80, unit: '°C', message: 'hot' }
      : { status },
  at,
});

describe('a duty action as data, taken on this node', () => {
  it('ack, assign and resolve each reach the alarm with who, to whom, the note and the disposal', () => {
    const alarms = createAlarmService({
      book: createAlarmBook({ newAlarmId: () => 'alm_1' }),
      now: () => 5_000,
      newEventId: () => 'evt',
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
    });
    const events: AlarmEvent[] = [];
    alarms.onEvent((event) => events.push(event));
    alarms.apply([change('true', 1_000)]);
    expect(performAlarmAction(alarms, { kind: 'ack', id: 'alm_1', by: 'duty', note: 'seen' }).ok).toBe(true);
    expect(performAlarmAction(alarms, { kind: 'assign', id: 'alm_1', to: 'li.na', by: 'duty', note: 'yours' }).ok).toBe(true);
    alarms.apply([change('false', 2_000)]);
    const disposal = { cause: 'blocked filter', measures: 'cleaned', responsible: 'li.na' };
    expect(performAlarmAction(alarms, { kind: 'resolve', id: 'alm_1', by: 'li.na', note: 'done', disposal }).ok).toBe(true);
    expect(alarms.book.history('alm_1').map((step) => [step.type, step.by, step.note])).toEqual([
      ['alarm.raised', null, null],
      ['alarm.acknowledged', 'duty', 'seen'],
      ['alarm.assigned', 'duty', 'yours'],
      ['alarm.cleared', null, null],
      ['alarm.resolved', 'li.na', 'done'],
    ]);
    expect(alarms.book.get('alm_1')).toMatchObject({ assignee: 'li.na', disposal, resolvedBy: 'li.na' });
    expect(performAlarmAction(alarms, { kind: 'ack', id: 'alm_2', by: 'duty', note: null })).toEqual({
      ok: false,
      error: { code: 'alarm_not_found' },
    });
  });
});
