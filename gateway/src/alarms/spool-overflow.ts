import type { VerdictChange } from '../../../rules/src/index.js';
import type { SinkStatus } from '../sinks/sink.js';

/** The gateway's own alarm about its InfluxDB spool: `_gateway/influxdb/spool_overflow`. */
export const SPOOL_OVERFLOW = {
  key: '_gateway/influxdb/spool_overflow',
  site: '_gateway',
  device: 'influxdb',
  profile: 'gateway',
  rule: 'spool_overflow',
  source:
    'gateway: store.spool.maxPoints / store.spool.maxAge, room in store.maxBytes and store.diskReserve (issue 13: never drop silently)',
} as const;

export interface SpoolOverflowWatch {
  /** Looks at the InfluxDB sink's status (every tick): telemetry dropped → the alarm; healthy again → it clears. */
  observe(status: SinkStatus | null, now: number): void;
}

/**
 * While InfluxDB is away the spool keeps points up to its bounds; past them the oldest telemetry is dropped. That
 * loss is a gateway alarm (orange) like any other — raised, delivered and handled — not only a counter: it says how
 * many points were dropped and escalates to nothing; it clears once InfluxDB takes writes again. `active()` tells
 * whether the book holds it open (after a restart the watch starts from the book, not from zero).
 */
export function createSpoolOverflowWatch(deps: { apply(changes: VerdictChange[]): void; active(): boolean }): SpoolOverflowWatch {
  let reported = 0;
  let open: boolean | null = null;
  return {
    observe(status, now) {
      if (status === null) return;
      open ??= deps.active();
      const dropped = status.dropped ?? 0;
      if (dropped > reported) {
        reported = dropped;
        open = true;
        const message = `InfluxDB spool full: the oldest ${dropped} telemetry points were dropped (store.spool bounds, store.maxBytes, store.diskReserve)`;
        deps.apply([
          {
            ...SPOOL_OVERFLOW,
            verdict: {
              status: 'true',
              severity: 'orange',
              metric: 'spool_dropped_points',
              value: dropped,
              threshold: null,
              unit: null,
              message,
              messageZh: `InfluxDB 本地缓存已满：已丢弃最早的 ${dropped} 个遥测数据点（store.spool 上限、store.maxBytes、store.diskReserve）`,
            },
            at: now,
          },
        ]);
        return;
      }
      if (open && status.ready && status.reason === null) {
        open = false;
        deps.apply([{ ...SPOOL_OVERFLOW, verdict: { status: 'false' }, at: now }]);
      }
    },
  };
}
