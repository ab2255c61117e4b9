import { Point } from '@influxdata/influxdb-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alarm, AlarmEvent, AlarmEventType, Reading } from '../../../../rules/src/index.js';
import { HOPPER_ALARM } from '../../../../test/support/hopper-alarm.js';
import { alarmEventLine, telemetryLine } from './line-protocol.js';

const T = Date.parse('2026-11-22T08:00:03.120Z');
const reading = (metrics: Reading['metrics'], more: Partial<Reading> = {}): Reading => ({
  site: 'site-a',
  device: 'dc-01',
  profile: 'dust-collector',
  ts: T,
  metrics,
  ...more,
});

describe('telemetry line protocol (contract §7)', () => {
  it('tags site, device and profile, fields sorted by key, numbers as floats, seq as an integer, ms time', () => {
    expect(telemetryLine(reading({ hopper_temp: 38.5, fan_on: true, door: false, mode: 'auto', amps: 12 }, { seq: 41 }))).toBe(
      `telemetry,device=dc-01,profile=dust-collector,site=site-a amps=12,door=F,fan_on=T,hopper_temp=38.5,mode="auto",seq=41i ${T}`,
    );
  });

  it('writes the same text as the InfluxDB client Point for every kind of value and escape', () => {
    const metrics = { 'a b': 1.25, 'c,d': -3, 'e=f': 'say "hi" \\ there', 'g\th': true, 'i\nj': false, k: 'x\ny' };
    const special = reading(metrics, { site: 's a', device: 'd,1', profile: 'p=1\t\n\r', seq: 7.9, ts: T + 0.9 });
    const point = new Point('telemetry').tag('site', 's a').tag('device', 'd,1').tag('profile', 'p=1\t\n\r').intField('seq', 7);
    point.floatField('a b', 1.25).floatField('c,d', -3).stringField('e=f', 'say "hi" \\ there').booleanField('g\th', true);
    point.booleanField('i\nj', false).stringField('k', 'x\ny').timestamp(String(T));
    expect(telemetryLine(special)).toBe(point.toLineProtocol());
  });

  it('the field seq is the envelope seq (an integer, once); without one a metric named seq is a float; else no seq', () => {
    expect(telemetryLine(reading({ seq: 2.5 }, { seq: 9 }))).toBe(`telemetry,device=dc-01,profile=dust-collector,site=site-a seq=9i ${T}`);
    expect(telemetryLine(reading({ seq: 2.5 }))).toBe(`telemetry,device=dc-01,profile=dust-collector,site=site-a seq=2.5 ${T}`);
    expect(telemetryLine(reading({ level: 1 }))).toBe(`telemetry,device=dc-01,profile=dust-collector,site=site-a level=1 ${T}`);
    expect(telemetryLine(reading({}, { seq: 0 }))).toBe(`telemetry,device=dc-01,profile=dust-collector,site=site-a seq=0i ${T}`);
  });

  it('a reading without any field has no line; an empty tag is left out', () => {
    expect(telemetryLine(reading({}))).toBeUndefined();
    expect(telemetryLine(reading({ level: 1 }, { site: '', profile: '', device: '' }))).toBe(`telemetry level=1 ${T}`);
    expect(telemetryLine(reading({ level: 1 }, { site: 'x', profile: '', device: '' }))).toBe(`telemetry,site=x level=1 ${T}`);
    expect(telemetryLine(reading({ level: 1 }, { site: '', profile: 'p', device: '' }))).toBe(`telemetry,profile=p level=1 ${T}`);
  });

  it('refuses a number InfluxDB cannot store, naming the field', () => {
    expect(() => telemetryLine(reading({ ok: 1, level: Number.NaN }))).toThrow("invalid float value for field 'level': NaN");
    expect(() => telemetryLine(reading({ level: Number.POSITIVE_INFINITY }))).toThrow("field 'level': Infinity");
  });

  it('the same metric names in another order make the same line, and a new set of names is sorted afresh', () => {
    const a = telemetryLine(reading({ b: 1, a: 2 }));
    expect(telemetryLine(reading({ a: 2, b: 1 }))).toBe(a);
    expect(a).toContain(' a=2,b=1 ');
    expect(telemetryLine(reading({ b: 1, c: 3 }))).toContain(' b=1,c=3 ');
    // more distinct sets of names than the cache keeps: every line stays right
    for (let i = 0; i < 1_100; i += 1) expect(telemetryLine(reading({ [`m${i}`]: i, a: 0 }))).toContain(` a=0,m${i}=${i} `);
    expect(telemetryLine(reading({ b: 1, a: 2 }))).toBe(a);
  });

  it("writes the client Point's text for any run of readings: a device seen again under another site or profile, names in any order", () => {
    const name = fc.constantFrom('a', 'b b', 'c,c', 'seq');
    const value = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constantFrom('x', 'y "z"'));
    const oneReading = fc.record({
      site: fc.constantFrom('s1', 's 2', ''),
      device: fc.constantFrom('d1', 'd,2', ''),
      profile: fc.constantFrom('p1', 'p=2'),
      metrics: fc.dictionary(name, value, { maxKeys: 4 }),
      seq: fc.option(fc.nat(1_000), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(oneReading, { minLength: 1, maxLength: 20 }), (readings) => {
        for (const { site, device, profile, metrics, seq } of readings) {
          const point = new Point('telemetry');
          if (site) point.tag('site', site);
          if (device) point.tag('device', device);
          if (profile) point.tag('profile', profile);
          for (const [key, v] of Object.entries(metrics)) {
            if (key === 'seq' && seq !== undefined) continue;
            if (typeof v === 'number') point.floatField(key, v);
            else if (typeof v === 'boolean') point.booleanField(key, v);
            else point.stringField(key, v);
          }
          if (seq !== undefined) point.intField('seq', seq);
          const expected = Object.keys(metrics).length === 0 && seq === undefined ? undefined : point.timestamp(String(T)).toLineProtocol();
          expect(telemetryLine(reading(metrics, { site, device, profile, ...(seq === undefined ? {} : { seq }) }))).toBe(expected);
        }
      }),
    );
  });
});

const ALARM = HOPPER_ALARM;
const eventOf = (type: AlarmEventType, alarm: Partial<Alarm> = {}): AlarmEvent => ({
  type,
  id: 'evt_9',
  timestamp: '2026-11-22T08:00:03.120Z',
  data: { alarm: { ...ALARM, ...alarm } },
});
const TAGS = 'alarm_events,device=dc-01,profile=dust-collector,rule=hopper_temp_high,severity=red,site=site-a';
const FIELDS = 'alarm_id="alm_1",event_id="evt_9",key="site-a/dc-01/hopper_temp_high",message="Hopper temperature 85.25 °C ≥ 80 °C"';

describe('alarm event line protocol', () => {
  it('tags the alarm and the event type; its ids, seq, message, state, value and threshold are fields; the event time in ms', () => {
    expect(alarmEventLine(eventOf('alarm.raised'))).toBe(
      `${TAGS},type=alarm.raised ${FIELDS},seq=2i,state="active",threshold=80,value=85.25 ${T}`,
    );
  });

  it('a value that is no number is value_text; no value and no threshold leave both out', () => {
    expect(alarmEventLine(eventOf('alarm.raised', { value: 'jammed' }))).toContain(',threshold=80,value_text="jammed" ');
    expect(alarmEventLine(eventOf('alarm.raised', { value: false }))).toContain(',value_text="false" ');
    const bare = alarmEventLine(eventOf('alarm.raised', { value: null, threshold: null })) as string;
    expect(bare).toBe(`${TAGS},type=alarm.raised ${FIELDS},seq=2i,state="active" ${T}`);
  });

  it('who acknowledged goes with the acknowledgement, who resolved with the resolution, nowhere else', () => {
    const people = { acknowledgedBy: 'li.wei', resolvedBy: 'zhang.min' };
    expect(alarmEventLine(eventOf('alarm.acknowledged', people))).toContain(',by="li.wei",');
    expect(alarmEventLine(eventOf('alarm.resolved', people))).toContain(',by="zhang.min",');
    expect(alarmEventLine(eventOf('alarm.escalated', people))).not.toContain('by=');
    expect(alarmEventLine(eventOf('alarm.acknowledged', { acknowledgedBy: null, resolvedBy: 'zhang.min' }))).not.toContain('by=');
    expect(alarmEventLine(eventOf('alarm.resolved', { acknowledgedBy: 'li.wei', resolvedBy: null }))).not.toContain('by=');
  });
});
