import { describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import { createGatewayMetrics } from '../../observability/metrics.js';
import { createLiveFeed } from './live-feed.js';

const event = (id: string): AlarmEvent => ({
  id,
  type: 'alarm.raised',
  timestamp: '2026-11-22T00:00:00Z',
  data: { alarm: {} as AlarmEvent['data']['alarm'] },
});

describe('live feed ring', () => {
  it('gives increasing cursors starting from the clock, and replays what a client missed', () => {
    const feed = createLiveFeed({ ringSize: 3, metrics: createGatewayMetrics(), initialCursor: 1_000 });
    const seen: number[] = [];
    const unsubscribe = feed.subscribe((item) => seen.push(item.cursor));
    for (const id of ['a', 'b', 'c', 'd']) feed.publish(event(id));
    unsubscribe();
    expect(seen).toEqual([1001, 1002, 1003, 1004]);
    expect(feed.since(1002)).toEqual({
      items: [expect.objectContaining({ cursor: 1003 }), expect.objectContaining({ cursor: 1004 })],
      truncated: false,
    });
    expect(feed.since(1000).truncated).toBe(true);
    expect(feed.since(1000).items.map((i) => i.event.id)).toEqual(['b', 'c', 'd']);
  });

  it('says a cursor from before the start is truncated, though the ring is still empty', () => {
    const feed = createLiveFeed({ ringSize: 3, metrics: createGatewayMetrics(), initialCursor: 1_000 });
    expect(feed.since(999)).toEqual({ items: [], truncated: true });
    expect(feed.since(1_000)).toEqual({ items: [], truncated: false });
    feed.publish(event('a'));
    expect(feed.since(999).truncated).toBe(true);
    expect(feed.since(1_000)).toEqual({ items: [expect.objectContaining({ cursor: 1_001 })], truncated: false });
  });
});
