import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { alarmSchema } from '../rules/src/index.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

const DISPOSAL = {
  cause: '星型卸灰阀轴承过热',
  measures: 'valve stopped, bearing replaced, hopper emptied and checked',
  responsible: 'Zhang Wei (maintenance)',
  attachment: 'https://wo.example.org/orders/4711',
};

describe('closed-loop handling: assign, then resolve with a disposal record (issue 15)', () => {
  let gateway: TestGateway | null = null;
  let device: MqttClient | null = null;
  afterEach(async () => {
    await device?.endAsync();
    await gateway?.close();
    gateway = null;
    device = null;
  });

  it('a dispatcher assigns the alarm; a resolve without its disposal record is refused; the record is kept, in the events and across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gateway-handling-'));
    const overrides = { handling: { requireDisposal: true, deadline: { enabled: false } }, influx: { mode: 'off' }, dataDir };
    gateway = await startTestGateway({ overrides });
    const events: Array<{ type: string; alarm: Record<string, unknown> }> = [];
    gateway.alarms.onEvent((event) => events.push({ type: event.type, alarm: event.data.alarm }));
    device = await connectDevice(gateway.mqttUrl, { clientId: 'dc-01', username: 'dc-01', password: 'secret-dc-01' });
    const hopper = (value: number) =>
      publishJson(device as MqttClient, telemetryTopicOf('site-a', 'dc-01'), { ts: Date.now(), metrics: { hopper_temp: value } });
    await hopper(65);
    const running = gateway;
    const alarm = await eventually('the alarm', async () => (await api(running, '/api/alarms')).body.alarms[0]);

    const assign = { to: 'Zhang Wei (maintenance)', by: 'Li Na (dispatcher)', note: 'check the valve today' };
    // assigning is the dispatcher's: an operator may not
    expect((await api(gateway, `/api/alarms/${alarm.id}/assign`, { token: TOKENS.operator, body: assign })).status).toBe(403);
    const assigned = await api(gateway, `/api/alarms/${alarm.id}/assign`, { token: TOKENS.admin, body: assign });
    expect(assigned.status).toBe(200);
    expect(assigned.body.alarm).toMatchObject({ assignee: 'Zhang Wei (maintenance)', seq: 2 });
    expect(Date.parse(assigned.body.alarm.assignedAt)).toBeGreaterThan(0);
    expect((await api(gateway, `/api/alarms/${alarm.id}/assign`, { token: TOKENS.admin, body: { by: 'x' } })).status).toBe(400);

    await hopper(40);
    await eventually('cleared', async () =>
      (await api(running, `/api/alarms/${alarm.id}`)).body.alarm.state === 'cleared' ? true : undefined,
    );
    const bare = await api(gateway, `/api/alarms/${alarm.id}/resolve`, { token: TOKENS.operator, body: { by: 'Wang Li', note: 'done' } });
    expect(bare.status).toBe(422);
    expect(bare.body.error.code).toBe('disposal_required');
    const partial = await api(gateway, `/api/alarms/${alarm.id}/resolve`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li', disposal: { ...DISPOSAL, measures: ' ' } },
    });
    expect(partial.status).toBe(400);
    // the attachment is a link duty officers open and receivers follow: http(s) only
    for (const attachment of ['javascript:fetch(1)', 'data:text/html,<b>x</b>', 'file:///etc/passwd']) {
      const odd = await api(gateway, `/api/alarms/${alarm.id}/resolve`, {
        token: TOKENS.operator,
        body: { by: 'Wang Li', disposal: { ...DISPOSAL, attachment } },
      });
      expect([odd.status, odd.body.error.details[0]]).toEqual([400, { path: 'disposal.attachment', message: 'an http(s) link' }]);
    }
    const resolved = await api(gateway, `/api/alarms/${alarm.id}/resolve`, {
      token: TOKENS.operator,
      body: { by: 'Wang Li', note: 'closed on site', disposal: DISPOSAL },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alarm).toMatchObject({ resolved: true, disposal: DISPOSAL, assignee: 'Zhang Wei (maintenance)' });

    // the events carry it (contract §4 extension fields), and they are valid alarms
    expect(events.map((e) => e.type)).toEqual(['alarm.raised', 'alarm.assigned', 'alarm.cleared', 'alarm.resolved']);
    expect(events[3]?.alarm.disposal).toEqual(DISPOSAL);
    for (const event of events) expect(alarmSchema.safeParse(event.alarm).success).toBe(true);
    const history = (await api(gateway, `/api/alarms/${alarm.id}`)).body.history;
    expect(history[1]).toMatchObject({ type: 'alarm.assigned', by: 'Li Na (dispatcher)', note: 'check the valve today' });

    await gateway.close();
    gateway = await startTestGateway({ overrides });
    const again = (await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm;
    expect(again).toMatchObject({ resolved: true, disposal: DISPOSAL, assignee: 'Zhang Wei (maintenance)', seq: 4 });
  });
});
