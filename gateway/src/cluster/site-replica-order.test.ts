import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../rules/src/index.js';
import { inSeqOrder } from './site-replica.js';

const event = (id: string, alarm: string, seq: number, timestamp: string): AlarmEvent =>
  ({ type: 'alarm.raised', id, timestamp, data: { alarm: { id: alarm, seq } } }) as unknown as AlarmEvent;

describe('events a dead owner did not hand on, in the order they go out', () => {
  it("by time, but each alarm's own in seq order whatever the owners' clocks said", () => {
    // alm_a's seq 2 was written by an owner whose clock ran 5 s behind the one that wrote seq 1
    const events = [
      event('evt_a2', 'alm_a', 2, '2026-12-06T08:00:01.000Z'),
      event('evt_b1', 'alm_b', 1, '2026-12-06T08:00:03.000Z'),
      event('evt_a1', 'alm_a', 1, '2026-12-06T08:00:05.000Z'),
      event('evt_a3', 'alm_a', 3, '2026-12-06T08:00:06.000Z'),
    ];
    expect(inSeqOrder(events).map((e) => e.id)).toEqual(['evt_a1', 'evt_b1', 'evt_a2', 'evt_a3']);
    expect(inSeqOrder([]).map((e) => e.id)).toEqual([]);
  });
});
