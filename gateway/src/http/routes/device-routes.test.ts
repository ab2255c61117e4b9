import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROLE_TOKENS, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';

/** The read-only routes beside the alarms: devices, refused payloads, inhibitions, trends without InfluxDB, webhooks. */
describe('devices, quarantine, inhibitions, trends and webhooks', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startHttpGateway(
      {},
      { webhooks: [{ id: 'duty-desk', url: 'http://127.0.0.1:9/hook', secrets: ['whsec_c2VjcmV0LW9mLXRoZS1kZXNr'] }] },
    );
  }, 60_000);
  afterAll(() => gateway.close());

  it('lists the registry’s devices with their status and units', async () => {
    const answer = await call(gateway, '/api/devices', { token: ROLE_TOKENS.viewer });
    expect(answer.status).toBe(200);
    expect(answer.body.count).toBe(3);
    expect(answer.body.devices.map((d: { id: string }) => d.id)).toEqual(['dc-01', 'dc-02', 'dc-09']);
    expect(answer.body.devices[2]).toMatchObject({
      id: 'dc-09',
      site: 'site-b',
      profile: 'dust-collector',
      online: false,
      connections: 0,
      connectedAt: null,
      lastSeen: null,
      lastReadingAt: null,
      lastValues: {},
      attributes: {},
    });
    expect(answer.body.devices[0].units.hopper_temp).toBe('°C');
  });

  it('lists refused payloads with the reasons there are, filtered and limited', async () => {
    const answer = await call(gateway, '/api/quarantine?device=dc-01&limit=5', { token: ROLE_TOKENS.viewer });
    expect(answer.status).toBe(200);
    expect(answer.body.entries).toEqual([]);
    expect(answer.body.count).toBe(0);
    expect(answer.body.reasons.unknown_metric).toBe("a metric that the device's profile does not have");
    expect((await call(gateway, '/api/quarantine?limit=0')).status).toBe(400);
    expect((await call(gateway, '/api/quarantine?reason=bogus')).status).toBe(400);
  });

  it('shows no inhibitions while no rule inhibits', async () => {
    const answer = await call(gateway, '/api/inhibitions', { token: ROLE_TOKENS.viewer });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ inhibitors: [], held: [], recent: [] });
  });

  it('answers trends: 404 for an unknown device, 400 for a bad range, 503 without InfluxDB saying why', async () => {
    const unknown = await call(gateway, '/api/devices/dc-77/trend?metric=hopper_temp', { token: ROLE_TOKENS.viewer });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({ code: 'device_not_found', message: 'no device dc-77' });
    const backwards = await call(gateway, '/api/devices/dc-01/trend?metric=hopper_temp&from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body.error).toEqual({
      code: 'validation_failed',
      message: 'from must be before to, at most 31 days apart',
      details: [{ path: 'from', message: 'from must be before to, at most 31 days apart' }],
    });
    const tooLong = await call(gateway, '/api/devices/dc-01/trend?metric=hopper_temp&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:01Z');
    expect(tooLong.status).toBe(400);
    const month = await call(gateway, '/api/devices/dc-01/trend?metric=hopper_temp&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z');
    expect(month.status).toBe(503);
    const off = await call(gateway, '/api/devices/dc-01/trend?metric=hopper_temp', { token: ROLE_TOKENS.viewer });
    expect(off.status).toBe(503);
    expect(off.body.error.code).toBe('trend_unavailable');
    expect(off.body.error.message).toMatch(/^no trend: /);
    expect(off.body.error.message).not.toBe('no trend: InfluxDB is off');
    const onlyTo = await call(gateway, '/api/devices/dc-01/trend?metric=hopper_temp&to=2026-11-01T00:00:00Z');
    expect(onlyTo.status).toBe(503);
    const onlyFrom = await call(gateway, `/api/devices/dc-01/trend?metric=hopper_temp&from=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(onlyFrom.status).toBe(400);
    expect((await call(gateway, '/api/devices/dc-01/trend?metric=Hopper')).status).toBe(400);
  });

  it('lists webhook subscribers, their deliveries and dead letters; replays and enables for an admin, audited', async () => {
    const subscribers = (await call(gateway, '/api/webhooks', { token: ROLE_TOKENS.viewer })).body.subscribers;
    expect(subscribers.map((s: { id: string }) => s.id)).toEqual(['duty-desk']);
    expect((await call(gateway, '/api/webhooks/dead-letters', { token: ROLE_TOKENS.viewer })).body).toEqual({ deadLetters: [], count: 0 });
    expect((await call(gateway, '/api/webhooks/duty-desk/deliveries', { token: ROLE_TOKENS.viewer })).body).toEqual({
      deliveries: [],
      count: 0,
    });
    const noSuch = await call(gateway, '/api/webhooks/nobody/deliveries', { token: ROLE_TOKENS.viewer });
    expect(noSuch.status).toBe(404);
    expect(noSuch.body.error).toEqual({ code: 'webhook_not_found', message: 'no webhook subscriber nobody' });
    const replay = await call(gateway, '/api/webhooks/dead-letters/dl_nothing/replay', { method: 'POST' });
    expect(replay.status).toBe(404);
    expect(replay.body.error).toEqual({ code: 'dead_letter_not_found', message: 'no dead letter dl_nothing' });
    const audit = async (action: string) => (await call(gateway, `/api/audit?action=${action}&limit=1`)).body.entries[0];
    expect(await audit('webhook.replay')).toMatchObject({ target: 'dl_nothing', outcome: 'dead_letter_not_found' });
    const enabled = await call(gateway, '/api/webhooks/duty-desk/enable', { method: 'POST' });
    expect(enabled.status).toBe(200);
    expect(enabled.body.subscriber.id).toBe('duty-desk');
    expect(await audit('webhook.enable')).toMatchObject({ target: 'duty-desk', outcome: 'ok', actor: 'shared-admin' });
    const unknown = await call(gateway, '/api/webhooks/nobody/enable', { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('no webhook subscriber nobody');
    expect(await audit('webhook.enable')).toMatchObject({ target: 'nobody', outcome: 'webhook_not_found' });
  });
});
