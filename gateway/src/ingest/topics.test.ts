import { describe, expect, it } from 'vitest';
import { isKnownChannel, parseDeviceTopic, statusTopic, telemetryTopic } from './topics.js';

describe('device topics (contract §1)', () => {
  it('reads site, device and what follows from sites/{site}/devices/{device}/…', () => {
    expect(parseDeviceTopic('sites/site-a/devices/dc_01/telemetry')).toEqual({ site: 'site-a', device: 'dc_01', channel: 'telemetry' });
    expect(parseDeviceTopic('sites/S9/devices/Z-z/telemetry/extra')).toEqual({ site: 'S9', device: 'Z-z', channel: 'telemetry/extra' });
    expect(parseDeviceTopic(`sites/${'s'.repeat(64)}/devices/${'d'.repeat(64)}/status`)).toEqual({
      site: 's'.repeat(64),
      device: 'd'.repeat(64),
      channel: 'status',
    });
  });

  it('nothing else: other roots, empty, long or odd names, no channel', () => {
    for (const topic of [
      'x/sites/a/devices/b/telemetry',
      'sites/a/device/b/telemetry',
      'sites//devices/b/telemetry',
      'sites/a/devices//telemetry',
      'sites/a/devices/b/',
      'sites/a/devices/b',
      `sites/${'s'.repeat(65)}/devices/b/telemetry`,
      `sites/a/devices/${'d'.repeat(65)}/telemetry`,
      'sites/a.b/devices/b/telemetry',
      'sites/a/devices/b c/telemetry',
      'sites/a/b/devices/c/telemetry',
    ]) {
      expect(parseDeviceTopic(topic), topic).toBeNull();
    }
  });

  it('telemetry and status are the known channels; the topics of a device', () => {
    expect(['telemetry', 'status', 'config', 'telemetry/x', ''].map(isKnownChannel)).toEqual([true, true, false, false, false]);
    expect(telemetryTopic('site-a', 'dc-01')).toBe('sites/site-a/devices/dc-01/telemetry');
    expect(statusTopic('site-a', 'dc-01')).toBe('sites/site-a/devices/dc-01/status');
  });
});
