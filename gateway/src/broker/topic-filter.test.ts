import { describe, expect, it } from 'vitest';
import { filterCovers, topicMatches } from './topic-filter.js';

describe('MQTT topic filters', () => {
  it('matches + and # as MQTT does', () => {
    expect(topicMatches('sites/+/devices/+/telemetry', 'sites/a/devices/d/telemetry')).toBe(true);
    expect(topicMatches('sites/+/devices/+/telemetry', 'sites/a/devices/d/status')).toBe(false);
    expect(topicMatches('lab/#', 'lab')).toBe(true);
    expect(topicMatches('lab/#', 'lab/x/y')).toBe(true);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
    expect(topicMatches('+/broker', '$SYS/broker')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/broker')).toBe(true);
    expect(topicMatches('lab', 'lab/x')).toBe(false);
    expect(topicMatches('lab/x', 'lab')).toBe(false);
    expect(topicMatches('lab/+', 'lab')).toBe(false);
    expect(topicMatches('lab/+', 'lab/')).toBe(true);
  });

  it('covers a subscription only when every topic it matches is allowed', () => {
    const own = 'sites/s/devices/d/cmd/#';
    expect(filterCovers(own, 'sites/s/devices/d/cmd/#')).toBe(true);
    expect(filterCovers(own, 'sites/s/devices/d/cmd/reboot')).toBe(true);
    expect(filterCovers(own, 'sites/s/devices/+/cmd/#')).toBe(false);
    expect(filterCovers(own, '#')).toBe(false);
    expect(filterCovers(own, 'sites/s/devices/d/#')).toBe(false);
    expect(filterCovers('lab/+/x', 'lab/a/x')).toBe(true);
    expect(filterCovers('lab/+/x', 'lab/#')).toBe(false);
    expect(filterCovers('lab/a', 'lab/+')).toBe(false);
    expect(filterCovers('lab/a', 'lab/b')).toBe(false);
    expect(filterCovers('lab', 'lab/x')).toBe(false);
    expect(filterCovers('lab/x', 'lab')).toBe(false);
    expect(filterCovers('lab/+', 'lab/+')).toBe(true);
    expect(filterCovers('#', 'lab/+/#')).toBe(true);
  });

  it('lets no wildcard allowance reach the $ topics (MQTT-4.7.2-1): a lab client allowed # may not subscribe to $SYS', () => {
    expect(filterCovers('#', '$SYS/#')).toBe(false);
    expect(filterCovers('#', '$SYS/broker/clients/+')).toBe(false);
    expect(filterCovers('+/#', '$share/g/x')).toBe(false);
    expect(filterCovers('$SYS/#', '$SYS/broker/clients/+')).toBe(true);
  });
});
