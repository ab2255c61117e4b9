import { describe, expect, it } from 'vitest';
import { createAlarmBook } from '../../../rules/src/index.js';
import { hopperRaise } from '../../../test/support/hopper-alarm.js';
import { escalationSchema } from '../config/escalation-schema.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import { createAlarmService } from './alarm-service.js';
import { createEscalationService } from './escalation-service.js';
import { escalationStateSchema } from './escalation-state.js';

const MIN = 60_000;
const red = hopperRaise('dc-01', 'red', 0);

describe('the escalation state of GET /api/alarms/{id}', () => {
  it("what the escalation service tells of an alarm fits the API's schema, before, between and after its steps", () => {
    const metrics = createGatewayMetrics({ processMetrics: false });
    const alarms = createAlarmService({
      book: createAlarmBook({ newAlarmId: () => 'alm_1' }),
      now: () => 0,
      newEventId: () => 'evt',
      metrics,
      log: createLogger('silent'),
    });
    const escalation = createEscalationService({
      policies: escalationSchema.parse([
        { id: 'red', match: { severities: ['red'] }, steps: [{ after: '5m', notify: { subscribers: ['manager'] } }] },
      ]),
      alarms,
      metrics,
      log: createLogger('silent'),
    });
    alarms.apply([red]);
    const alarm = alarms.book.get('alm_1');
    if (!alarm) throw new Error('no alarm');
    const before = escalation.stateOf(alarm, 0);
    expect(escalationStateSchema.parse(before)).toEqual(before);
    escalation.tick(5 * MIN);
    const after = escalation.stateOf(alarms.book.get('alm_1') ?? alarm, 5 * MIN);
    expect(escalationStateSchema.parse(after)).toEqual({ policy: 'red', stepsDone: 1, steps: 1, next: null });
  });

  it('refuses what the API never shows: a negative count, a step 0, a policy without steps, an unknown condition or action', () => {
    const good = {
      policy: 'red',
      stepsDone: 0,
      steps: 2,
      next: { step: 1, condition: 'not_acknowledged', dueAt: null, waitsFor: 'acknowledged' },
    };
    expect(escalationStateSchema.safeParse(good).success).toBe(true);
    for (const bad of [
      { ...good, stepsDone: -1 },
      { ...good, stepsDone: 0.5 },
      { ...good, steps: 0 },
      { ...good, next: { ...good.next, step: 0 } },
      { ...good, next: { ...good.next, condition: 'late' } },
      { ...good, next: { ...good.next, waitsFor: 'seen' } },
      { ...good, next: undefined },
    ])
      expect(escalationStateSchema.safeParse(bad).success).toBe(false);
  });

  it('its documented example is a valid state', () => {
    const examples = escalationStateSchema.meta()?.examples;
    expect(Array.isArray(examples) && examples.length).toBe(1);
    for (const example of examples as unknown[]) expect(escalationStateSchema.safeParse(example).success).toBe(true);
  });
});
