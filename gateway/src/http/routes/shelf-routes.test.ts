import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROLE_TOKENS, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';

const MIN = 60_000;

describe('the shelf routes', () => {
  let gateway: RunningGateway;
  let orange: string;
  let red: string;
  const lastAudit = async (action: string) => (await call(gateway, `/api/audit?action=${action}&limit=1`)).body.entries[0];

  beforeAll(async () => {
    gateway = await startHttpGateway();
    const at = Date.now() - 10 * MIN;
    gateway.alarms.apply([raised('dc-01', 'orange', at)]);
    gateway.alarms.apply([raised('dc-09', 'red', at + MIN, 'site-b')]);
    const alarms = (await call(gateway, '/api/alarms')).body.alarms as Array<{ id: string; device: string }>;
    orange = (alarms.find((a) => a.device === 'dc-01') as { id: string }).id;
    red = (alarms.find((a) => a.device === 'dc-09') as { id: string }).id;
  }, 60_000);
  afterAll(() => gateway.close());

  it('shelves an alarm for a duration as the shared token’s `by`, audited; unshelves it', async () => {
    const noBy = await call(gateway, `/api/alarms/${orange}/shelve`, {
      token: ROLE_TOKENS.operator,
      body: { reason: 'r', durationMinutes: 30 },
    });
    expect(noBy.status).toBe(400);
    expect(noBy.body.error).toEqual({
      code: 'validation_failed',
      message: 'by: who acts is required with a shared token',
      details: [{ path: 'by', message: 'who acts is required' }],
    });
    const before = Date.now();
    const shelved = await call(gateway, `/api/alarms/${orange}/shelve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', reason: ' bags replaced ', durationMinutes: 30 },
    });
    expect(shelved.status).toBe(200);
    expect(shelved.body.shelf).toMatchObject({ scope: 'alarm', alarm: orange, reason: 'bags replaced', by: 'Wang Li', holdsRed: false });
    const until = Date.parse(shelved.body.shelf.until);
    expect(until).toBeGreaterThanOrEqual(before + 30 * MIN);
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * MIN);
    expect(shelved.body.alarm.id).toBe(orange);
    expect(await lastAudit('alarm.shelve')).toMatchObject({
      target: orange,
      outcome: 'ok',
      note: 'bags replaced',
      by: 'Wang Li',
      detail: { shelf: shelved.body.shelf.id, until: shelved.body.shelf.until },
    });
    const again = await call(gateway, `/api/alarms/${orange}/shelve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', reason: 'again', durationMinutes: 30 },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('alarm_already_shelved');
    expect(await lastAudit('alarm.shelve')).toMatchObject({ outcome: 'alarm_already_shelved', detail: null });
    const one = await call(gateway, `/api/shelves/${shelved.body.shelf.id}`, { token: ROLE_TOKENS.viewer });
    expect(one.body.shelf).toEqual(shelved.body.shelf);
    const unshelveNoBy = await call(gateway, `/api/alarms/${orange}/unshelve`, { token: ROLE_TOKENS.operator, body: {} });
    expect(unshelveNoBy.status).toBe(400);
    const unshelved = await call(gateway, `/api/alarms/${orange}/unshelve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Li Na', note: 'done' },
    });
    expect(unshelved.status).toBe(200);
    expect(unshelved.body.shelf).toMatchObject({ id: shelved.body.shelf.id, endedBy: 'Li Na' });
    expect(unshelved.body.shelf.endedAt).not.toBeNull();
    expect(await lastAudit('alarm.unshelve')).toMatchObject({ target: orange, outcome: 'ok', note: 'done', by: 'Li Na' });
    const twice = await call(gateway, `/api/alarms/${orange}/unshelve`, { token: ROLE_TOKENS.operator, body: { by: 'Li Na' } });
    expect(twice.status).toBe(404);
    expect(twice.body.error.code).toBe('shelf_not_found');
    expect(await lastAudit('alarm.unshelve')).toMatchObject({ outcome: 'shelf_not_found', note: null });
  });

  it('shelves until a time; refuses both or neither end, unknown fields, an unknown alarm, and a red one for an operator', async () => {
    const neither = await call(gateway, `/api/alarms/${orange}/shelve`, { body: { by: 'x', reason: 'r' } });
    expect(neither.body.error.details).toEqual([{ path: 'until', message: 'give until or durationMinutes (one of them)' }]);
    const until = new Date(Date.now() + 20 * MIN).toISOString();
    const both = await call(gateway, `/api/alarms/${orange}/shelve`, { body: { by: 'x', reason: 'r', until, durationMinutes: 5 } });
    expect(both.body.error.details).toEqual([{ path: 'until', message: 'give until or durationMinutes (one of them)' }]);
    const extra = await call(gateway, `/api/alarms/${orange}/shelve`, { body: { by: 'x', reason: 'r', durationMinutes: 5, hold: true } });
    expect(extra.status).toBe(400);
    const noReason = await call(gateway, `/api/alarms/${orange}/shelve`, { body: { by: 'x', reason: ' ', durationMinutes: 5 } });
    expect(noReason.body.error.details).toEqual([{ path: 'reason', message: 'the reason is required' }]);
    const unknown = await call(gateway, '/api/alarms/alm_nothing/shelve', { body: { by: 'x', reason: 'r', durationMinutes: 5 } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({ code: 'alarm_not_found', message: 'no alarm alm_nothing' });
    expect(await lastAudit('alarm.shelve')).toMatchObject({ target: 'alm_nothing', outcome: 'alarm_not_found', by: 'x' });
    const redByOperator = await call(gateway, `/api/alarms/${red}/shelve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'x', reason: 'r', until },
    });
    expect(redByOperator.status).toBe(403);
    expect(redByOperator.body.error.code).toBe('shelve_requires_dispatcher');
    const redByDispatcher = await call(gateway, `/api/alarms/${red}/shelve`, {
      token: ROLE_TOKENS.dispatcher,
      body: { by: 'x', reason: 'r', until },
    });
    expect(redByDispatcher.status).toBe(200);
    expect(redByDispatcher.body.shelf.until).toBe(until);
    expect(redByDispatcher.body.shelf.holdsRed).toBe(true);
    const past = await call(gateway, `/api/alarms/${orange}/shelve`, {
      body: { by: 'x', reason: 'r', until: new Date(Date.now() - MIN).toISOString() },
    });
    expect(past.body.error.code).toBe('shelf_window_invalid');
  });

  it('declares maintenance windows for a device or a site (201), lists, shows and ends them', async () => {
    const noBy = await call(gateway, '/api/shelves', {
      token: ROLE_TOKENS.operator,
      body: { scope: 'site', site: 'site-b', reason: 'r', durationMinutes: 5 },
    });
    expect(noBy.body.error.message).toBe('by: who acts is required with a shared token');
    const from = new Date(Date.now() + MIN).toISOString();
    const until = new Date(Date.now() + 61 * MIN).toISOString();
    const site = await call(gateway, '/api/shelves', {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', scope: 'site', site: 'site-a', reason: 'declared stop', from, until },
    });
    expect(site.status).toBe(201);
    expect(site.body.shelf).toMatchObject({ scope: 'site', site: 'site-a', device: null, from, until, by: 'Wang Li' });
    expect(site.body.alarm).toBeNull();
    expect(await lastAudit('shelf.create')).toMatchObject({
      target: site.body.shelf.id,
      outcome: 'ok',
      note: 'declared stop',
      by: 'Wang Li',
      detail: { scope: 'site', site: 'site-a', device: null, from, until },
    });
    const device = await call(gateway, '/api/shelves', {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', scope: 'device', device: 'dc-02', reason: 'bags', durationMinutes: 15 },
    });
    expect(device.status).toBe(201);
    expect(device.body.shelf).toMatchObject({ scope: 'device', site: 'site-a', device: 'dc-02' });
    const missing = await call(gateway, '/api/shelves', {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', scope: 'device', device: 'dc-77', reason: 'bags', durationMinutes: 15 },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('device_not_found');
    expect(await lastAudit('shelf.create')).toMatchObject({
      target: 'dc-77',
      outcome: 'device_not_found',
      detail: { scope: 'device', site: null, device: 'dc-77' },
    });
    const noSite = await call(gateway, '/api/shelves', {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', scope: 'site', site: 'site-z', reason: 'bags', durationMinutes: 15 },
    });
    expect(noSite.body.error.code).toBe('site_not_found');
    expect((await lastAudit('shelf.create')).target).toBe('site-z');
    const wrong = await call(gateway, '/api/shelves', {
      body: { by: 'x', scope: 'site', device: 'dc-01', reason: 'r', durationMinutes: 5 },
    });
    expect(wrong.body.error.details).toEqual([
      { path: 'site', message: 'required for scope site' },
      { path: 'device', message: 'not for scope site' },
    ]);
    const noDevice = await call(gateway, '/api/shelves', { body: { by: 'x', scope: 'device', reason: 'r', durationMinutes: 5 } });
    expect(noDevice.body.error.details).toEqual([{ path: 'device', message: 'required for scope device' }]);
    const neither = await call(gateway, '/api/shelves', { body: { by: 'x', scope: 'device', device: 'dc-01', reason: 'r' } });
    expect(neither.body.error.details).toEqual([{ path: 'until', message: 'give until or durationMinutes (one of them)' }]);

    const active = (await call(gateway, '/api/shelves', { token: ROLE_TOKENS.viewer })).body;
    expect(active.count).toBe(active.shelves.length);
    expect(active.shelves.map((s: { id: string }) => s.id)).toContain(site.body.shelf.id);
    const ended = await call(gateway, `/api/shelves/${device.body.shelf.id}/end`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Li Na', note: 'early' },
    });
    expect(ended.status).toBe(200);
    expect(ended.body.shelf).toMatchObject({ id: device.body.shelf.id, endedBy: 'Li Na' });
    expect(await lastAudit('shelf.end')).toMatchObject({ target: device.body.shelf.id, outcome: 'ok', note: 'early', by: 'Li Na' });
    const activeNow = (await call(gateway, '/api/shelves')).body.shelves.map((s: { id: string }) => s.id);
    expect(activeNow).not.toContain(device.body.shelf.id);
    const everything = (await call(gateway, '/api/shelves?state=all')).body.shelves.map((s: { id: string }) => s.id);
    expect(everything).toContain(device.body.shelf.id);
    const endAgain = await call(gateway, `/api/shelves/${device.body.shelf.id}/end`, { body: { by: 'Li Na' } });
    expect(endAgain.status).toBe(409);
    expect(endAgain.body.error.code).toBe('shelf_ended');
    expect(await lastAudit('shelf.end')).toMatchObject({ outcome: 'shelf_ended', note: null });
    const endNoBy = await call(gateway, `/api/shelves/${site.body.shelf.id}/end`, { token: ROLE_TOKENS.operator, body: {} });
    expect(endNoBy.status).toBe(400);
    const none = await call(gateway, '/api/shelves/shf_nothing', { token: ROLE_TOKENS.viewer });
    expect(none.status).toBe(404);
    expect(none.body.error).toEqual({ code: 'shelf_not_found', message: 'no shelf shf_nothing' });
    expect((await call(gateway, '/api/shelves?state=ended')).status).toBe(400);
  });
});
