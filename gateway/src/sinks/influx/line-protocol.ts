import { Point } from '@influxdata/influxdb-client';
import type { AlarmEvent, Reading } from '../../../../rules/src/index.js';
import { lastNamesMemo } from '../../ingest/metric-names-memo.js';

/** Tag keys, tag values and field keys escape commas, spaces, `=` and control whitespace. */
const HAS_KEY_SPECIAL = /[\t\n\r ,=]/;
const KEY_SPECIALS = /[\t\n\r ,=]/g;
const ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', ' ': '\\ ', ',': '\\,', '=': '\\=' };
const escapeKey = (text: string): string => (HAS_KEY_SPECIAL.test(text) ? text.replace(KEY_SPECIALS, (c) => ESCAPES[c] as string) : text);
const quoted = (text: string): string => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/**
 * Each field's text before its value (`key=`, `,key=` after the first), sorted by key, once per distinct set of metric
 * names (a profile sends the same few sets).
 */
const fieldKeyCache = new Map<string, Array<[name: string, prefix: string]>>();
const MAX_CACHED_KEY_SETS = 1_000;
/** The fields' prefixes for a list of metric names, sorted; the last list is found again without joining it. */
const sortedFieldKeys = lastNamesMemo((names): Array<[string, string]> => {
  const id = names.join('\u0000');
  let keys = fieldKeyCache.get(id);
  if (!keys) {
    keys = [...names].sort().map((name, i) => [name, `${i === 0 ? '' : ','}${escapeKey(name)}=`]);
    if (fieldKeyCache.size >= MAX_CACHED_KEY_SETS) fieldKeyCache.clear();
    fieldKeyCache.set(id, keys);
  }
  return keys;
});

/** A device's measurement and tags (`telemetry,device=…,profile=…,site=…`), escaped once per device. */
const seriesCache = new Map<string, { site: string; profile: string; series: string }>();
const MAX_CACHED_SERIES = 100_000;

function seriesOf(reading: Reading): string {
  const cached = seriesCache.get(reading.device);
  if (cached && cached.site === reading.site && cached.profile === reading.profile) return cached.series;
  let series = 'telemetry';
  if (reading.device) series += `,device=${escapeKey(reading.device)}`;
  if (reading.profile) series += `,profile=${escapeKey(reading.profile)}`;
  if (reading.site) series += `,site=${escapeKey(reading.site)}`;
  if (seriesCache.size >= MAX_CACHED_SERIES) seriesCache.clear();
  seriesCache.set(reading.device, { site: reading.site, profile: reading.profile, series });
  return series;
}

/**
 * Contract §7 in line protocol, millisecond precision. Numbers are always float fields (so an integer
 * reading never conflicts with a float one); booleans and enum strings keep their type. Built directly
 * (it runs for every reading): the same text the InfluxDB client's Point makes — tags and fields sorted
 * by key, its escaping, `T`/`F` booleans, `seq` as an integer field.
 */
export function telemetryLine(reading: Reading): string | undefined {
  const { metrics, seq } = reading;
  const names = Object.keys(metrics);
  if (seq !== undefined && !('seq' in metrics)) names.push('seq');
  if (names.length === 0) return undefined;
  // appended piece by piece: a template per field made two more strings of each (1.9 KB allocated per line of 9 fields
  // against 1.3 KB, 740 against 570 ns)
  let line = `${seriesOf(reading)} `;
  for (const [name, prefix] of sortedFieldKeys(names)) {
    const value = name === 'seq' && seq !== undefined ? undefined : metrics[name];
    let text: string;
    if (value === undefined) text = `${Math.floor(seq as number)}i`;
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new Error(`invalid float value for field '${name}': ${value}`);
      text = String(value);
    } else if (typeof value === 'boolean') text = value ? 'T' : 'F';
    else text = quoted(value);
    line += prefix;
    line += text;
  }
  line += ' ';
  line += Math.trunc(reading.ts);
  return line;
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
  // a float field takes finite numbers only: a rate of change beyond them is kept as text
  if (typeof alarm.value === 'number' && Number.isFinite(alarm.value)) point.floatField('value', alarm.value);
  else if (alarm.value !== null) point.stringField('value_text', String(alarm.value));
  if (alarm.threshold !== null && Number.isFinite(alarm.threshold)) point.floatField('threshold', alarm.threshold);
  if (event.type === 'alarm.acknowledged' && alarm.acknowledgedBy) point.stringField('by', alarm.acknowledgedBy);
  if (event.type === 'alarm.resolved' && alarm.resolvedBy) point.stringField('by', alarm.resolvedBy);
  return point.timestamp(String(Date.parse(event.timestamp))).toLineProtocol();
}
