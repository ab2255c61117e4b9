import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../scenario/load-scenario.js';
import type { DeviceAction } from './action.js';
import { scenarioActions } from './run-virtual.js';

const payloads = (actions: Iterable<DeviceAction>): string[] =>
  [...actions].map((a) => (a.kind === 'publish' ? `${a.at} ${a.topic} ${a.payload}` : `${a.at} ${a.kind}`));

const scenario = (timeline: string, device = '{ id: dc-01, site: plant-a, profile: dust-collector }', duration = '30m') =>
  parseScenario(`name: t\nprofile: dust-collector\nduration: ${duration}\ndevices: [${device}]\ntimeline: ${timeline}\n`, 't.yaml');

type Publish = Extract<DeviceAction, { kind: 'publish' }>;
const telemetry = (actions: Iterable<DeviceAction>): Publish[] =>
  [...actions].filter((a): a is Publish => a.kind === 'publish' && a.role !== 'status');

describe('deviceActions', () => {
  it('publishes identical bytes for one seed, and different ones for another (every shipped scenario)', () => {
    for (const name of [
      'demo',
      'dust-collector-wire',
      'deep-well-casting-compound',
      'mine-slope-compound',
      'tailings-dam-compound',
      'power-compound',
    ]) {
      const s = loadScenario(name);
      const first = payloads(scenarioActions(s));
      expect(first.length, name).toBeGreaterThan(s.devices.length * 2);
      expect(payloads(scenarioActions(s)), name).toEqual(first);
      expect(payloads(scenarioActions(s, s.seed + 1)), name).not.toEqual(first);
    }
  });

  it('announces online (retained) first, then reports contract payloads with an increasing seq', () => {
    const actions = [...scenarioActions(scenario('[]'))];
    expect(actions[0]).toMatchObject({ kind: 'connect' });
    expect(actions[1]).toMatchObject({ kind: 'publish', topic: 'sites/plant-a/devices/dc-01/status', payload: 'online', retain: true });
    const readings = telemetry(actions).map((a) => JSON.parse(a.payload));
    expect(readings.length).toBe(60);
    readings.forEach((r, i) => {
      expect(r.seq).toBe(i);
      expect(typeof r.ts).toBe('number');
      expect(r.metrics.diff_pressure).toBeGreaterThan(900);
      expect(r.metrics.diff_pressure).toBeLessThan(1400);
    });
  });

  it('goes offline without DISCONNECT and uploads the backlog as `readings` on reconnect', () => {
    const actions = [...scenarioActions(scenario('[{ at: 5m, do: offline, for: 10m, backlog: true }]'))];
    const drop = actions.find((a) => a.kind === 'disconnect');
    expect(drop).toMatchObject({ graceful: false });
    const backlog = telemetry(actions).find((a) => a.role === 'backlog');
    const body = JSON.parse(backlog?.payload ?? '{}');
    expect(body.readings.length).toBe(20);
    expect(typeof body.readings[0].ts).toBe('string');
    const seqs = telemetry(actions).flatMap((a) => {
      const p = JSON.parse(a.payload);
      return (p.readings ?? [p]).map((r: { seq: number }) => r.seq);
    });
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('starts seq again after a power cut (a restart, contract §2), and keeps counting through a backlog or a clean disconnect', () => {
    const seqs = (timeline: string) =>
      telemetry(scenarioActions(scenario(timeline))).flatMap((a) => {
        const p = JSON.parse(a.payload);
        return (p.readings ?? [p]).map((r: { seq: number; ts: number | string }) => ({ seq: r.seq, ts: new Date(r.ts).getTime() }));
      });
    const cut = seqs('[{ at: 5m, do: offline, for: 10m }]');
    const restart = cut.findIndex((r, i) => i > 0 && r.seq < (cut[i - 1]?.seq ?? 0));
    expect(restart).toBeGreaterThan(0);
    expect(cut[restart]?.seq).toBe(0);
    expect(cut[restart]?.ts).toBeGreaterThan(cut[restart - 1]?.ts ?? Number.POSITIVE_INFINITY);
    for (const timeline of ['[{ at: 5m, do: offline, for: 10m, backlog: true }]', '[{ at: 5m, do: offline, for: 10m, graceful: true }]']) {
      const kept = seqs(timeline).map((r) => r.seq);
      expect(kept, timeline).toEqual([...kept].sort((a, b) => a - b));
    }
  });

  it('redelivers with the same seq, swaps pairs when reordering, shifts ts by the skew', () => {
    const dup = telemetry(scenarioActions(scenario('[{ at: 5m, for: 2m, do: duplicate }]')));
    const duplicates = dup.filter((a) => a.role === 'duplicate');
    expect(duplicates.length).toBe(4);
    for (const d of duplicates) expect(dup.filter((a) => a.payload === d.payload)).toHaveLength(2);

    const reordered = telemetry(scenarioActions(scenario('[{ at: 5m, for: 2m, do: reorder }]'))).map((a) => JSON.parse(a.payload).seq);
    expect(reordered).not.toEqual([...reordered].sort((a, b) => a - b));
    expect([...reordered].sort((a, b) => a - b)).toEqual(Array.from({ length: reordered.length }, (_, i) => i));

    const skewed = telemetry(scenarioActions(scenario('[{ at: 0s, do: skew, offset: "-90s" }]')));
    for (const a of skewed) expect(JSON.parse(a.payload).ts).toBe(a.at - 90_000);
  });

  it('sends a stuck value to its last digit, whatever resolution the live reading would have had', () => {
    // hopper_temp has 0.1 °C resolution: a live 23.0 goes out as 23, which must not pull a frozen 23.4 down to 23
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const readings = telemetry(scenarioActions(scenario('[{ at: 1m, do: stuck, metric: hopper_temp }]', undefined, '3h'), seed)).map(
        (a) => JSON.parse(a.payload),
      );
      const frozen = readings.filter((r) => r.ts >= Date.parse('2026-11-23T08:01:00+08:00')).map((r) => r.metrics.hopper_temp);
      expect(frozen.length, `seed ${seed}`).toBeGreaterThan(300);
      expect(new Set(frozen), `seed ${seed}`).toEqual(new Set([frozen[0]]));
    }
  });

  it('sends malformed payloads of every kind once', () => {
    const bad = telemetry(scenarioActions(scenario('[{ at: 1m, do: malformed }]'))).filter((a) => a.role === 'malformed');
    expect(bad).toHaveLength(7);
    expect(() => JSON.parse(bad[0]?.payload ?? '')).toThrow();
    expect(bad.find((a) => a.payload.length > 256 * 1024)).toBeDefined();
  });

  it('freezes a stuck sensor, pins a dead one, and drifts at the given rate', () => {
    const stuck = telemetry(scenarioActions(scenario('[{ at: 5m, do: stuck, metric: diff_pressure }]'))).map((a) => JSON.parse(a.payload));
    const after = stuck.filter((r) => r.ts >= stuck[0].ts + 5 * 60_000).map((r) => r.metrics.diff_pressure);
    expect(new Set(after).size).toBe(1);
    const dead = telemetry(scenarioActions(scenario('[{ at: 0s, do: dead, metric: hopper_temp, value: -50 }]'))).map((a) =>
      JSON.parse(a.payload),
    );
    expect(dead.every((r) => r.metrics.hopper_temp === -50)).toBe(true);
    const drift = telemetry(scenarioActions(scenario('[{ at: 0s, do: drift, metric: hopper_temp, rate: 2 }]'))).map((a) =>
      JSON.parse(a.payload),
    );
    const first = drift[0].metrics.hopper_temp;
    const last = drift[drift.length - 1].metrics.hopper_temp;
    expect(last - first).toBeGreaterThan(50);
    expect(last - first).toBeLessThan(65);
  });
});
