import { afterEach, describe, expect, it } from 'vitest';
import { call, cleared, ROLE_TOKENS, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';
import { MAX_BULK_ALARMS } from './alarm-bulk-routes.js';

const T0 = Date.UTC(2026, 11, 5, 2, 10);
const DISPOSAL = { cause: 'site network outage 02:10–02:40', measures: 'switch power supply replaced', responsible: 'Zhang Wei (IT)' };

describe('acting on many alarms at once', () => {
  let gateway: RunningGateway | null = null;
  afterEach(async () => {
    await gateway?.close();
    gateway = null;
  });

  /** A gateway with an open alarm on each of `devices`, those in `clear` already cleared; their ids by device. */
  const withAlarms = async (devices: string[], clear: string[] = []): Promise<{ running: RunningGateway; idOf: Map<string, string> }> => {
    // the plant's rule: no alarm closed without its disposal record
    const running = await startHttpGateway({}, { handling: { deadline: { enabled: false }, requireDisposal: true } });
    gateway = running;
    for (const [i, device] of devices.entries()) running.alarms.apply([raised(device, 'orange', T0 + i)]);
    for (const device of clear) running.alarms.apply([cleared(device, T0 + 60_000)]);
    const listed = (await call(running, '/api/alarms?state=open', { token: ROLE_TOKENS.viewer })).body.alarms as Array<{
      id: string;
      device: string;
    }>;
    return { running, idOf: new Map(listed.map((a) => [a.device, a.id])) };
  };

  it('acknowledges each alarm as if alone (its own transition, event and audit entry) and says which could not be', async () => {
    const { running, idOf } = await withAlarms(['dc-01', 'dc-02', 'dc-03']);
    const [a, b, c] = ['dc-01', 'dc-02', 'dc-03'].map((d) => idOf.get(d) as string);
    const events: string[] = [];
    running.alarms.onEvent((event) => events.push(`${event.type} ${event.data.alarm.id}`));
    expect((await call(running, `/api/alarms/${b}/ack`, { token: ROLE_TOKENS.operator, body: { by: 'Li Na' } })).status).toBe(200);
    events.length = 0;

    const answer = await call(running, '/api/alarms/ack', {
      token: ROLE_TOKENS.operator,
      body: { ids: [a, b, 'alm_nothing', c], by: 'Wang Li', note: 'site network down' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.results.map((r: { id: string; ok: boolean; error?: string }) => [r.id, r.ok, r.error])).toEqual([
      [a, true, undefined],
      [b, false, 'alarm_already_acknowledged'],
      ['alm_nothing', false, 'alarm_not_found'],
      [c, true, undefined],
    ]);
    expect([answer.body.done, answer.body.failed]).toEqual([2, 2]);
    expect(answer.body.results[0].alarm).toMatchObject({ id: a, acknowledged: true, acknowledgedBy: 'Wang Li', note: 'site network down' });
    expect(events).toEqual([`alarm.acknowledged ${a}`, `alarm.acknowledged ${c}`]);
    const audit = (await call(running, '/api/audit?action=alarm.ack')).body.entries as Array<{
      target: string;
      outcome: string;
      by: string;
    }>;
    expect(audit.map((e) => [e.target, e.outcome, e.by]).reverse()).toEqual([
      [b, 'ok', 'Li Na'],
      [a, 'ok', 'Wang Li'],
      [b, 'alarm_already_acknowledged', 'Wang Li'],
      ['alm_nothing', 'alarm_not_found', 'Wang Li'],
      [c, 'ok', 'Wang Li'],
    ]);
  });

  it('with the occurrences seen, leaves open an alarm that came back since (alarm_reoccurred) and closes the rest with the record', async () => {
    const { running, idOf } = await withAlarms(['dc-01', 'dc-02']);
    const [a, b] = ['dc-01', 'dc-02'].map((d) => idOf.get(d) as string) as [string, string];
    running.alarms.apply([cleared('dc-01', T0 + 60_000), cleared('dc-02', T0 + 60_000)]);
    // dc-02 came back (red, say) and cleared again after the officer's list was drawn
    running.alarms.apply([raised('dc-02', 'red', T0 + 120_000)]);
    running.alarms.apply([cleared('dc-02', T0 + 180_000)]);
    const answer = await call(running, '/api/alarms/resolve', {
      token: ROLE_TOKENS.operator,
      body: { ids: [a, b], by: 'Wang Li', disposal: DISPOSAL, occurrences: { [a]: 1, [b]: 1 } },
    });
    expect(answer.body.results.map((r: { ok: boolean; error?: string }) => r.error ?? 'ok')).toEqual(['ok', 'alarm_reoccurred']);
    expect((await call(running, `/api/alarms/${b}`, { token: ROLE_TOKENS.viewer })).body.alarm).toMatchObject({ resolved: false });
    const stray = await call(running, '/api/alarms/resolve', {
      token: ROLE_TOKENS.operator,
      body: { ids: [b], by: 'x', occurrences: { alm_other: 1 } },
    });
    expect(stray.status).toBe(400);
  });

  it('with the occurrences seen, leaves unacknowledged an alarm that came back since (alarm_reoccurred) and acknowledges the rest', async () => {
    const { running, idOf } = await withAlarms(['dc-01', 'dc-02', 'dc-03']);
    const [a, b, c] = ['dc-01', 'dc-02', 'dc-03'].map((d) => idOf.get(d) as string) as [string, string, string];
    // dc-02 cleared and came back after the officer's list was drawn: they saw its first occurrence
    running.alarms.apply([cleared('dc-02', T0 + 60_000)]);
    running.alarms.apply([raised('dc-02', 'orange', T0 + 120_000)]);
    const answer = await call(running, '/api/alarms/ack', {
      token: ROLE_TOKENS.operator,
      body: { ids: [a, b, c], by: 'Wang Li', occurrences: { [a]: 1, [b]: 1 } },
    });
    expect(answer.status).toBe(200);
    // c named no occurrence: acknowledged as without the field
    expect(answer.body.results.map((r: { ok: boolean; error?: string }) => r.error ?? 'ok')).toEqual(['ok', 'alarm_reoccurred', 'ok']);
    const one = (await call(running, `/api/alarms/${b}`, { token: ROLE_TOKENS.viewer })).body.alarm;
    expect(one).toMatchObject({ occurrences: 2, acknowledged: false });
    const audit = (await call(running, `/api/audit?action=alarm.ack&target=${b}`)).body.entries;
    expect(audit.map((e: { outcome: string }) => e.outcome)).toEqual(['alarm_reoccurred']);
    const current = await call(running, '/api/alarms/ack', {
      token: ROLE_TOKENS.operator,
      body: { ids: [b], by: 'Wang Li', occurrences: { [b]: 2 } },
    });
    expect(current.body.results[0]).toMatchObject({ ok: true, alarm: { acknowledged: true, occurrences: 2 } });
    // an occurrence of an alarm not in the list is a mistake of the caller, refused before anything is done
    const stray = await call(running, '/api/alarms/ack', {
      token: ROLE_TOKENS.operator,
      body: { ids: [a], by: 'x', occurrences: { alm_other: 1 } },
    });
    expect([stray.status, stray.body.error.details[0]]).toEqual([
      400,
      { path: 'occurrences', message: 'occurrences only of the alarms in ids' },
    ]);
    const zero = await call(running, '/api/alarms/ack', {
      token: ROLE_TOKENS.operator,
      body: { ids: [a], by: 'x', occurrences: { [a]: 0 } },
    });
    expect(zero.status).toBe(400);
  });

  it('closes the cleared alarms with one disposal record each, leaves an active one open, and refuses without a record', async () => {
    const { running, idOf } = await withAlarms(['dc-01', 'dc-02', 'dc-03'], ['dc-01', 'dc-03']);
    const ids = ['dc-01', 'dc-02', 'dc-03'].map((d) => idOf.get(d) as string);
    const noRecord = await call(running, '/api/alarms/resolve', { token: ROLE_TOKENS.operator, body: { ids, by: 'Wang Li' } });
    // as the single action answers: the alarm's own refusal (still active) first — a record would not help it
    expect(noRecord.body.results.map((r: { error?: string }) => r.error)).toEqual([
      'disposal_required',
      'alarm_still_active',
      'disposal_required',
    ]);
    const answer = await call(running, '/api/alarms/resolve', {
      token: ROLE_TOKENS.operator,
      body: { ids, by: 'Wang Li', disposal: DISPOSAL },
    });
    expect(answer.body.results.map((r: { ok: boolean; error?: string }) => r.error ?? 'ok')).toEqual(['ok', 'alarm_still_active', 'ok']);
    for (const device of ['dc-01', 'dc-03']) {
      const one = (await call(running, `/api/alarms/${idOf.get(device)}`, { token: ROLE_TOKENS.viewer })).body;
      expect(one.alarm).toMatchObject({ state: 'cleared', resolved: true, resolvedBy: 'Wang Li' });
      expect(one.history.at(-1)).toMatchObject({ type: 'alarm.resolved', by: 'Wang Li', disposal: DISPOSAL });
    }
    const open = (await call(running, '/api/alarms?state=open', { token: ROLE_TOKENS.viewer })).body.alarms;
    expect(open.map((a: { device: string }) => a.device)).toEqual(['dc-02']);
  });

  it('refuses an empty list, a repeated id, more than the limit, and a viewer; acts on none then', async () => {
    const { running, idOf } = await withAlarms(['dc-01']);
    const a = idOf.get('dc-01') as string;
    const refused = async (body: unknown, token: string = ROLE_TOKENS.operator) =>
      (await call(running, '/api/alarms/ack', { token, body })).body.error;
    expect((await refused({ ids: [], by: 'x' })).details[0]).toMatchObject({ path: 'ids' });
    expect((await refused({ ids: [a, a], by: 'x' })).details[0]).toEqual({ path: 'ids', message: 'each alarm once' });
    const tooMany = Array.from({ length: MAX_BULK_ALARMS + 1 }, (_, i) => `alm_${i}`);
    expect((await refused({ ids: tooMany, by: 'x' })).code).toBe('validation_failed');
    expect((await refused({ ids: [a], by: 'x' }, ROLE_TOKENS.viewer)).code).toBe('forbidden');
    const one = (await call(running, `/api/alarms/${a}`, { token: ROLE_TOKENS.viewer })).body.alarm;
    expect(one.acknowledged).toBe(false);
  });

  it('a thousand alarms in one request: every one acknowledged, the event loop turning meanwhile', async () => {
    const devices = Array.from({ length: MAX_BULK_ALARMS }, (_, i) => `m-${i}`);
    const { running, idOf } = await withAlarms(devices);
    // with the occurrence seen of each, as the console sends them (over the server's default body limit of 64 KiB)
    const ids = [...idOf.values()];
    const occurrences = Object.fromEntries(ids.map((id) => [id, 1]));
    const pending = call(running, '/api/alarms/ack', { token: ROLE_TOKENS.operator, body: { ids, by: 'Wang Li', occurrences } });
    // the event loop turns while it works (a timer set after it fires before it is done): the broker, the lane's
    // answers and other requests go on between its actions
    const turned = new Promise((resolve) => setTimeout(() => resolve('timer'), 1));
    expect(await Promise.race([pending.then(() => 'bulk'), turned])).toBe('timer');
    const answer = await pending;
    expect([answer.body.done, answer.body.failed]).toEqual([MAX_BULK_ALARMS, 0]);
    const open = (await call(running, '/api/alarms?state=open&limit=10000', { token: ROLE_TOKENS.viewer })).body.alarms;
    expect(open.every((a: { acknowledged: boolean }) => a.acknowledged)).toBe(true);
  }, 60_000);
});
