import { describe, expect, it } from 'vitest';
import { type AlarmEvent, createAlarmBook, type VerdictChange } from '../../../rules/src/index.js';
import { createLogger } from '../observability/logger.js';
import { createGatewayMetrics } from '../observability/metrics.js';
import type { SinkStatus } from '../sinks/sink.js';
import { createAlarmService } from './alarm-service.js';
import { createSpoolOverflowWatch, SPOOL_OVERFLOW } from './spool-overflow.js';

const away = (dropped?: number): SinkStatus => ({
  name: 'influxdb',
  ready: false,
  reason: 'ECONNREFUSED',
  queued: 100,
  ...(dropped === undefined ? {} : { dropped }),
});
const healthy = (dropped?: number): SinkStatus => ({
  name: 'influxdb',
  ready: true,
  reason: null,
  queued: 0,
  ...(dropped === undefined ? {} : { dropped }),
});

/** The watch on a real alarm book, wired as the gateway wires it; `book` carries the book over a restart. */
function setup(book = createAlarmBook({ newAlarmId: () => `alm_${Math.random()}` })) {
  const alarms = createAlarmService({
    book,
    now: () => 0,
    newEventId: () => 'evt',
    metrics: createGatewayMetrics({ processMetrics: false }),
    log: createLogger('silent'),
  });
  const events: AlarmEvent[] = [];
  alarms.onEvent((event) => events.push(event));
  const applied: VerdictChange[][] = [];
  let asked = 0;
  const watch = createSpoolOverflowWatch({
    apply: (changes) => {
      applied.push(changes);
      alarms.apply(changes);
    },
    active: () => {
      asked += 1;
      return alarms.book.list({ state: 'active' }).some((alarm) => alarm.key === SPOOL_OVERFLOW.key);
    },
  });
  return { watch, book, events, applied, asked: () => asked, types: () => events.map((e) => e.type) };
}

describe('the spool overflow watch: dropped telemetry is an alarm (issue 13)', () => {
  it('raises an orange gateway alarm saying how many points were dropped, in English and Chinese', () => {
    const { watch, events, applied } = setup();
    watch.observe(away(0), 1_000);
    watch.observe(away(), 1_500);
    expect(events).toEqual([]);
    watch.observe(away(42), 2_000);
    expect(applied).toEqual([
      [
        {
          key: '_gateway/influxdb/spool_overflow',
          site: '_gateway',
          device: 'influxdb',
          profile: 'gateway',
          rule: 'spool_overflow',
          source:
            'gateway: store.spool.maxPoints / store.spool.maxAge, room in store.maxBytes and store.diskReserve (issue 13: never drop silently)',
          verdict: {
            status: 'true',
            severity: 'orange',
            metric: 'spool_dropped_points',
            value: 42,
            threshold: null,
            unit: null,
            message:
              'InfluxDB spool full: the oldest 42 telemetry points were dropped (store.spool bounds, store.maxBytes, store.diskReserve)',
            messageZh: 'InfluxDB 本地缓存已满：已丢弃最早的 42 个遥测数据点（store.spool 上限、store.maxBytes、store.diskReserve）',
          },
          at: 2_000,
        },
      ],
    ]);
    expect(events.map((e) => [e.type, e.data.alarm.key, e.data.alarm.severity, e.timestamp])).toEqual([
      ['alarm.raised', SPOOL_OVERFLOW.key, 'orange', new Date(2_000).toISOString()],
    ]);
  });

  it('reports again only when more points are dropped; clears once, when InfluxDB takes writes again', () => {
    const { watch, applied, types } = setup();
    watch.observe(away(10), 1_000);
    watch.observe(away(10), 2_000);
    expect(applied).toHaveLength(1);
    watch.observe(away(25), 3_000);
    expect(applied.map((changes) => changes[0]?.verdict.status === 'true' && changes[0].verdict.value)).toEqual([10, 25]);
    // still away, or up but degraded: the alarm stays
    watch.observe({ ...away(25), reason: null }, 4_000);
    watch.observe({ ...healthy(25), reason: 'slow writes' }, 5_000);
    expect(applied).toHaveLength(2);
    watch.observe(healthy(25), 6_000);
    expect(applied[2]).toEqual([{ ...SPOOL_OVERFLOW, verdict: { status: 'false' }, at: 6_000 }]);
    watch.observe(healthy(25), 7_000);
    expect(applied).toHaveLength(3);
    expect(types()).toEqual(['alarm.raised', 'alarm.cleared']);
  });

  it('a tick that finds InfluxDB back with more dropped reports the loss and does not clear in the same tick', () => {
    const { watch, applied } = setup();
    watch.observe(healthy(7), 1_000);
    expect(applied.map((changes) => changes[0]?.verdict.status)).toEqual(['true']);
    watch.observe(healthy(7), 2_000);
    expect(applied.map((changes) => changes[0]?.verdict.status)).toEqual(['true', 'false']);
  });

  it('a healthy sink with nothing dropped and no alarm open changes nothing; no status (no InfluxDB sink) neither', () => {
    const { watch, applied, asked } = setup();
    watch.observe(null, 500);
    expect(asked()).toBe(0);
    watch.observe(healthy(), 1_000);
    watch.observe(healthy(0), 2_000);
    expect(applied).toEqual([]);
    expect(asked()).toBe(1);
  });

  it('after a restart it starts from the book: the alarm still open is cleared once InfluxDB is healthy', () => {
    const first = setup();
    first.watch.observe(away(3), 1_000);
    const second = setup(first.book);
    second.watch.observe(healthy(), 2_000);
    expect(second.applied).toEqual([[{ ...SPOOL_OVERFLOW, verdict: { status: 'false' }, at: 2_000 }]]);
    second.watch.observe(healthy(), 3_000);
    expect(second.applied).toHaveLength(1);
    expect(second.asked()).toBe(1);
    expect(second.types()).toEqual(['alarm.cleared']);
  });
});
