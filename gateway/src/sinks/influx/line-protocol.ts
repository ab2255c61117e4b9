import { Point } from '@influxdata/influxdb-client';
import type { AlarmEvent, Reading } from '../../../../rules/src/index.js';

/**
 * Contract §7 in line protocol, millisecond precision. Numbers are always float fields (so an integer
 * reading never conflicts with a float one); booleans and enum strings keep their type.
 * Escaping comes from the InfluxDB client's Point.
 */
export function telemetryLine(reading: Reading): string | undefined {
  const point = new Point('telemetry').tag('site', reading.site).tag('device', reading.device).tag('profile', reading.profile);
  for (const [name, value] of Object.entries(reading.metrics)) {
    if (typeof value === 'number') point.floatField(name, value);
    else if (typeof value === 'boolean') point.booleanField(name, value);
    else point.stringField(name, value);
  }
  if (reading.seq !== undefined) point.intField('seq', reading.seq);
  return point.timestamp(String(Math.trunc(reading.ts))).toLineProtocol();
}

export function alarmEventLine(event: AlarmEvent): string | undefined {
  const { alarm } = event.data;
  const point = new Point('alarm_events')
    .tag('site', alarm.site)
    .tag('device', alarm.device)
    .tag('profile', alarm.profile)
    .tag('rule', alarm.rule)
    .tag('severity', alarm.severity)
    .tag('type', event.type)
    .stringField('alarm_id', alarm.id)
    .intField('seq', alarm.seq)
    .stringField('message', alarm.message)
    .stringField('event_id', event.id)
    .stringField('key', alarm.key)
    .stringField('state', alarm.state);
  if (typeof alarm.value === 'number') point.floatField('value', alarm.value);
  else if (alarm.value !== null) point.stringField('value_text', String(alarm.value));
  if (alarm.threshold !== null) point.floatField('threshold', alarm.threshold);
  if (event.type === 'alarm.acknowledged' && alarm.acknowledgedBy) point.stringField('by', alarm.acknowledgedBy);
  if (event.type === 'alarm.resolved' && alarm.resolvedBy) point.stringField('by', alarm.resolvedBy);
  return point.timestamp(String(Date.parse(event.timestamp))).toLineProtocol();
}
