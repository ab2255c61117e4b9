import { compareSeverity, type Severity } from '../../../rules/src/index.js';
import { formatOffset } from '../time/duration.js';
import type { ExpectedAlarm } from './scenario-schema.js';

/** The part of a contract §4 event the check needs (SSE, webhook body, or the gateway's event bus). */
export interface AlarmEventLike {
  type: string;
  data: {
    alarm: {
      id: string;
      key: string;
      site: string;
      device: string;
      rule: string;
      severity: Severity;
      raisedAt: string;
      clearedAt: string | null;
    };
  };
}

/** One alarm as a run saw it: first raise, highest severity, last clear. */
export interface ObservedAlarm {
  id: string;
  key: string;
  site: string;
  device: string;
  rule: string;
  severity: Severity;
  raisedAt: number;
  clearedAt: number | null;
}

/**
 * Folds a stream of alarm events into alarms (by alarm id). `seenAt`, for a run in scaled time against a gateway on
 * its own clock: the scenario time at which an event arrived. A transition the gateway made on a reading carries the
 * reading's (scenario) time, at or before that; one it made on its own timer (an on-delay running out, silence)
 * carries the gateway's wall time, which lies ahead of the scenario time played. Each time is taken as the earlier
 * of the two.
 */
export function alarmsFromEvents(
  events: readonly AlarmEventLike[],
  seenAt?: (event: AlarmEventLike) => number | undefined,
): ObservedAlarm[] {
  const byId = new Map<string, ObservedAlarm>();
  for (const event of events) {
    const seen = seenAt?.(event);
    const timeOf = (iso: string): number => (seen === undefined ? Date.parse(iso) : Math.min(Date.parse(iso), seen));
    const a = event.data.alarm;
    let alarm = byId.get(a.id);
    if (!alarm) {
      if (event.type !== 'alarm.raised') continue;
      alarm = {
        id: a.id,
        key: a.key,
        site: a.site,
        device: a.device,
        rule: a.rule,
        severity: a.severity,
        raisedAt: timeOf(a.raisedAt),
        clearedAt: null,
      };
      byId.set(a.id, alarm);
    }
    if (compareSeverity(a.severity, alarm.severity) > 0) alarm.severity = a.severity;
    if (event.type === 'alarm.cleared') alarm.clearedAt = a.clearedAt ? timeOf(a.clearedAt) : null;
  }
  return [...byId.values()].sort((x, y) => x.raisedAt - y.raisedAt);
}

export interface ExpectationReport {
  ok: boolean;
  matched: Array<{ expected: ExpectedAlarm; alarm: ObservedAlarm }>;
  /** Expected and not seen; `seen`: an alarm of that rule and device that did not fit (wrong severity or time). */
  missing: Array<{ expected: ExpectedAlarm; seen: ObservedAlarm | null }>;
  unexpected: ObservedAlarm[];
}

const fits = (expected: ExpectedAlarm, alarm: ObservedAlarm, start: number): boolean =>
  alarm.device === expected.device &&
  alarm.rule === expected.rule &&
  (expected.site === undefined || alarm.site === expected.site) &&
  alarm.severity === expected.severity &&
  alarm.raisedAt >= start + expected.at &&
  alarm.raisedAt <= start + expected.at + expected.within;

/** Exactly the expected alarms: each expectation met by one alarm, and no alarm left over. */
export function checkExpectations(expected: readonly ExpectedAlarm[], alarms: readonly ObservedAlarm[], start: number): ExpectationReport {
  const left = [...alarms];
  const report: ExpectationReport = { ok: true, matched: [], missing: [], unexpected: [] };
  for (const expectation of expected) {
    const index = left.findIndex((alarm) => fits(expectation, alarm, start));
    if (index >= 0) {
      report.matched.push({ expected: expectation, alarm: left[index] as ObservedAlarm });
      left.splice(index, 1);
    } else {
      const seen = left.find((alarm) => alarm.device === expectation.device && alarm.rule === expectation.rule) ?? null;
      report.missing.push({ expected: expectation, seen });
    }
  }
  report.unexpected = left;
  report.ok = report.missing.length === 0 && report.unexpected.length === 0;
  return report;
}

const describe = (alarm: ObservedAlarm, start: number): string =>
  `${alarm.key} ${alarm.severity} raised at +${formatOffset(alarm.raisedAt - start)}${alarm.clearedAt !== null ? `, cleared at +${formatOffset(alarm.clearedAt - start)}` : ''}`;

/** A few readable lines: what matched, what was missing (and what came instead), what was not expected. */
export function formatExpectationReport(report: ExpectationReport, start: number): string {
  const lines: string[] = [];
  for (const { alarm } of report.matched) lines.push(`  ✓ ${describe(alarm, start)}`);
  for (const { expected, seen } of report.missing) {
    const window = `+${formatOffset(expected.at)}…+${formatOffset(expected.at + expected.within)}`;
    lines.push(
      `  ✗ missing ${expected.device}/${expected.rule} ${expected.severity} raised within ${window}${seen ? ` — saw ${describe(seen, start)}` : ''}`,
    );
  }
  for (const alarm of report.unexpected) lines.push(`  ✗ unexpected ${describe(alarm, start)}`);
  if (lines.length === 0) lines.push('  ✓ no alarms, as expected');
  return lines.join('\n');
}
