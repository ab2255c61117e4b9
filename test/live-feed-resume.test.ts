import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { listenToAlarmStream, type SseListener } from './helpers/sse-listener.js';
import { eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

const RULE = 'hopper_temp_high';

describe('resuming the alarm stream with a real EventSource (contract §6)', () => {
  let gateway: TestGateway;
  let device: MqttClient;
  let watcher: SseListener;
  const listeners: SseListener[] = [];
  let clock = Date.parse('2026-11-22T12:00:00Z');

  const hopper = async (value: number): Promise<void> => {
    clock += 600_000;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, metrics: { hopper_temp: value } });
    await gateway.settle(100);
  };
  const mine = (listener: SseListener) => listener.events.filter((e) => e.data.data.alarm.rule === RULE);
  /** Waits until the watcher (connected from the start) has seen `count` events of the rule; returns them. */
  const watched = (count: number) =>
    eventually(`${count} events on the stream`, () => (mine(watcher).length >= count ? mine(watcher) : undefined));
  const listen = (lastEventId?: string, query?: Record<string, string>): SseListener => {
    const listener = listenToAlarmStream(gateway.httpUrl, TOKENS.viewer, lastEventId, { query });
    listeners.push(listener);
    return listener;
  };

  beforeAll(async () => {
    gateway = await startTestGateway({ overrides: { influx: { mode: 'off' }, liveFeed: { ringSize: 3 } } });
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    watcher = listen();
    await watcher.ready;
  });
  afterAll(async () => {
    for (const listener of listeners) listener.close();
    await device?.endAsync();
    await gateway?.close();
  });

  it('opens a live stream when nothing was missed (the newest id, or an id ahead of the newest), and delivers what comes next', async () => {
    await hopper(65); // raised
    const [raised] = await watched(1);
    const newest = raised!.id;

    const caughtUp = listen(newest);
    const ahead = listen(String(Number(newest) + 1_000_000));
    await caughtUp.ready; // an empty 200 would make EventSource give up here
    await ahead.ready;
    expect(caughtUp.readyState).toBe(1);
    expect(ahead.readyState).toBe(1);
    // An id this feed never handed out: the client is told it may have missed events, and continues live.
    await eventually('the gap event for an unknown cursor', () => (ahead.gaps.length === 1 ? true : undefined));
    expect(ahead.gaps[0]).toMatchObject({ reason: 'unknown_cursor', after: Number(newest) + 1_000_000 });
    expect(caughtUp.gaps).toEqual([]);

    await hopper(75); // escalated, after both resumed
    const escalated = (await watched(2))[1]!;
    for (const listener of [caughtUp, ahead])
      await eventually('the escalation on the resumed stream', () => (mine(listener).length === 1 ? true : undefined));
    expect(mine(caughtUp).map((e) => [e.id, e.data.type])).toEqual([[escalated.id, 'alarm.escalated']]);
    expect(mine(ahead).map((e) => [e.id, e.data.type])).toEqual([[escalated.id, 'alarm.escalated']]);
  });

  it('resumes after ?lastEventId= for clients that cannot set the header', async () => {
    const [raised, escalated] = await watched(2);
    const resumed = listen(undefined, { lastEventId: raised!.id });
    await resumed.ready;
    await eventually('the missed escalation replayed', () => (mine(resumed).length >= 1 ? true : undefined));
    expect(mine(resumed)[0]).toEqual(escalated);
    expect(resumed.gaps).toEqual([]);
  });

  it('sends a gap event when the ring no longer holds every missed event, then what it still has', async () => {
    const [raised] = await watched(2);
    await hopper(40); // cleared
    await hopper(65); // raised again
    await hopper(75); // escalated: the ring (3) now holds only the last three events
    await watched(5);
    const all = [...watcher.events];
    const inRing = all.slice(-3);
    expect(all.indexOf(raised!)).toBeLessThan(all.length - 4); // at least one missed event has left the ring
    const resumed = listen(raised!.id);
    await resumed.ready;
    await eventually('the three events the ring still holds', () => (resumed.events.length === 3 ? true : undefined));
    expect(resumed.gaps).toEqual([{ after: Number(raised!.id), oldest: Number(inRing[0]!.id), reason: 'ring_overflow' }]);
    expect(resumed.events).toEqual(inRing);
  });
});
