import type { Metrics } from '../models/device-model.js';
import type { MalformedKind } from '../scenario/behaviour-schema.js';

/** A payload the gateway must reject with a reason code (contract §2), built from a real reading. */
export function malformedPayload(kind: MalformedKind, ts: number, metrics: Metrics): string {
  const numeric = Object.entries(metrics).find(([, value]) => typeof value === 'number')?.[0] ?? Object.keys(metrics)[0] ?? 'value';
  switch (kind) {
    case 'not_json':
      return `{"ts": ${ts}, "metrics": {"${numeric}": `;
    case 'wrong_shape':
      return JSON.stringify({ ts, values: metrics });
    case 'unknown_metric':
      return JSON.stringify({ ts, metrics: { ...metrics, bogus_metric: 1 } });
    case 'wrong_type':
      return JSON.stringify({ ts, metrics: { ...metrics, [numeric]: true } });
    case 'empty_metrics':
      return JSON.stringify({ ts, metrics: {} });
    case 'too_large':
      return JSON.stringify({ ts, metrics, padding: 'x'.repeat(300 * 1024) });
    case 'bad_timestamp':
      return JSON.stringify({ ts: 'yesterday at noon', metrics });
  }
}
