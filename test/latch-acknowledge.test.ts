import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmService } from '../gateway/src/alarms/alarm-service.js';
import { createLogger } from '../gateway/src/observability/logger.js';
import { createGatewayMetrics } from '../gateway/src/observability/metrics.js';
import { createSqliteAlarmStore } from '../gateway/src/store/alarm-store-sqlite.js';
import { openStore } from '../gateway/src/store/open-store.js';
import { createAlarmBook } from '../rules/src/index.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, LANE_THREADS, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

const GAS = { id: 'gas-01', site: 'pit-3', profile: 'confined-space', secret: 'secret-gas-01' };

/**
 * The alarm book's commit of an acknowledgement, made on the gateway's store with nobody to tell the lane: what a
 * crash between the book's commit and the lane's leaves behind.
 */
function acknowledgeInStoreOnly(dataDir: string, id: string): void {
  const db = openStore({ dataDir, synchronous: 'normal' });
  try {
    const alarms = createAlarmService({
      book: createAlarmBook({ newAlarmId: () => 'alm_unused' }),
      now: Date.now,
      newEventId: () => 'evt_unused',
      metrics: createGatewayMetrics({ processMetrics: false }),
      log: createLogger('silent'),
      store: createSqliteAlarmStore(db),
    });
    expect(alarms.acknowledge(id, 'Li Na', 'checked with a second detector').ok).toBe(true);
  } finally {
    db.close();
  }
}

describe.each(LANE_THREADS)('an alarm latched until acknowledged (confined-space LEL over range) — lane.thread: %s', (thread) => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      thread,
      devices: [{ id: 'gas-01', site: 'pit-3', profile: 'confined-space', secret: 'secret-gas-01' }],
      overrides: { influx: { mode: 'off' } },
    });
  });
  afterAll(() => gateway?.close());

  it('stays red after the reading falls, and clears when a duty officer acknowledges it', async () => {
    const device = await connectDevice(gateway.mqttUrl, { username: 'gas-01', password: 'secret-gas-01', clientId: 'gas-01' });
    const send = async (lel: number): Promise<void> => {
      await publishJson(device, telemetryTopicOf('pit-3', 'gas-01'), { metrics: { lel, o2: 20.9 } });
      await gateway.settle();
    };
    const latched = async () =>
      (await api(gateway, '/api/alarms?state=all', { token: TOKENS.viewer })).body.alarms.find(
        (a: { rule: string }) => a.rule === 'lel_over_range',
      );

    await send(120);
    expect(await latched()).toMatchObject({ severity: 'red', state: 'active' });
    await send(0);
    await send(0);
    expect((await latched()).state).toBe('active');

    const ack = await api(gateway, `/api/alarms/${(await latched()).id}/ack`, {
      token: TOKENS.operator,
      body: { by: 'Li Na', note: 'checked with a second detector' },
    });
    expect(ack.status).toBe(200);
    await gateway.settle();
    expect(await latched()).toMatchObject({ state: 'cleared', acknowledged: true, acknowledgedBy: 'Li Na' });
    await device.endAsync();
  });

  it('an acknowledgement the lane never heard of (a crash between the two commits) lets the latch go at the next start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-latch-'));
    const start = () => startTestGateway({ thread, devices: [GAS], overrides: { influx: { mode: 'off' }, dataDir } });
    let running = await start();
    const device = await connectDevice(running.mqttUrl, { username: 'gas-01', password: 'secret-gas-01', clientId: 'gas-01' });
    for (const lel of [120, 0, 0]) {
      await publishJson(device, telemetryTopicOf('pit-3', 'gas-01'), { metrics: { lel, o2: 20.9 } });
      await running.settle();
    }
    const latchedIn = async (gateway: TestGateway) =>
      (await api(gateway, '/api/alarms?state=all', { token: TOKENS.viewer })).body.alarms.find(
        (a: { rule: string }) => a.rule === 'lel_over_range',
      );
    const alarm = await latchedIn(running);
    expect(alarm).toMatchObject({ severity: 'red', state: 'active', acknowledged: false });
    await device.endAsync();
    await running.close();

    acknowledgeInStoreOnly(dataDir, alarm.id);
    running = await start();
    try {
      await running.settle();
      // the reading fell long ago: released, the alarm clears (before, it stayed red and a second acknowledgement got 409)
      expect(await latchedIn(running)).toMatchObject({ id: alarm.id, state: 'cleared', acknowledged: true, acknowledgedBy: 'Li Na' });
    } finally {
      await running.close();
    }
  });
});
