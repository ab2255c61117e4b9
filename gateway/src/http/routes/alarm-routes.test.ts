import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, cleared, ROLE_TOKENS, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';
import { ALARM_CSV_COLUMNS } from './alarm-query.js';

const T0 = Date.UTC(2026, 11, 3, 8, 0);
const MIN = 60_000;
const DISPOSAL = { cause: '轴承过热', measures: 'bearing replaced', responsible: 'Zhang Wei' };

interface Listed {
  id: string;
  device: string;
}
const devicesOf = (alarms: Listed[]): string[] => alarms.map((a) => a.device);

describe('the alarm routes', () => {
  let gateway: RunningGateway;
  /** dc-09 (site-b, red, newest), dc-02 (site-a, yellow), dc-01 (site-a, orange, oldest). */
  let all: Listed[];
  const list = async (query: string) => (await call(gateway, `/api/alarms${query}`, { token: ROLE_TOKENS.viewer })).body;
  const byId = (device: string): string => (all.find((a) => a.device === device) as Listed).id;

  beforeAll(async () => {
    gateway = await startHttpGateway();
    gateway.alarms.apply([raised('dc-01', 'orange', T0)]);
    gateway.alarms.apply([raised('dc-02', 'yellow', T0 + MIN)]);
    gateway.alarms.apply([raised('dc-09', 'red', T0 + 2 * MIN, 'site-b')]);
    all = (await list('')).alarms;
  }, 60_000);
  afterAll(() => gateway.close());

  it('lists the open alarms newest first, with count and total, paged by limit and offset', async () => {
    expect(devicesOf(all)).toEqual(['dc-09', 'dc-02', 'dc-01']);
    const first = await list('?limit=2');
    expect([first.count, first.total]).toEqual([2, 3]);
    expect(devicesOf(first.alarms)).toEqual(['dc-09', 'dc-02']);
    const second = await list('?limit=2&offset=2');
    expect([second.count, second.total]).toEqual([1, 3]);
    expect(devicesOf(second.alarms)).toEqual(['dc-01']);
    expect((await list('?offset=1')).count).toBe(2);
    expect((await list('?limit=10001')).error.code).toBe('validation_failed');
    expect((await list('?offset=-1')).error.code).toBe('validation_failed');
  });

  it('narrows the list by site, device, severity, profile, assignee, overdue, text and raising time', async () => {
    expect(devicesOf((await list('?site=site-a')).alarms)).toEqual(['dc-02', 'dc-01']);
    expect(devicesOf((await list('?device=dc-02')).alarms)).toEqual(['dc-02']);
    expect(devicesOf((await list('?severity=red')).alarms)).toEqual(['dc-09']);
    expect((await list('?profile=dust-collector')).total).toBe(3);
    expect((await list('?profile=power')).total).toBe(0);
    expect((await list('?overdue=false')).total).toBe(3);
    expect((await list('?overdue=true')).total).toBe(0);
    expect(devicesOf((await list('?q=HOT%20DC-0')).alarms)).toEqual(['dc-09', 'dc-02', 'dc-01']);
    expect(devicesOf((await list('?q=%20site-b%20')).alarms)).toEqual(['dc-09']);
    expect(devicesOf((await list('?q=hot%20site-b')).alarms)).toEqual(['dc-09']);
    expect((await list('?q=hot%20nowhere')).total).toBe(0);
    expect(devicesOf((await list('?q=hopper_temp_high%20dust-collector')).alarms)).toHaveLength(3);
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    expect(devicesOf((await list(`?from=${at(T0 + MIN)}`)).alarms)).toEqual(['dc-09', 'dc-02']);
    expect(devicesOf((await list(`?to=${at(T0 + MIN)}`)).alarms)).toEqual(['dc-01']);
    expect(devicesOf((await list(`?from=${at(T0 + MIN)}&to=${at(T0 + 2 * MIN)}`)).alarms)).toEqual(['dc-02']);
    expect((await list('?from=yesterday')).error.code).toBe('validation_failed');
  });

  it('shows one alarm with its history, and 404 for an unknown one', async () => {
    const one = (await call(gateway, `/api/alarms/${byId('dc-02')}`, { token: ROLE_TOKENS.viewer })).body;
    expect(one.alarm).toMatchObject({ id: byId('dc-02'), device: 'dc-02', severity: 'yellow', state: 'active' });
    expect(one.history).toEqual([
      { type: 'alarm.raised', at: new Date(T0 + MIN).toISOString(), seq: 1, severity: 'yellow', by: null, note: null },
    ]);
    expect(one.escalation).toBeUndefined();
    const missing = await call(gateway, '/api/alarms/alm_nothing', { token: ROLE_TOKENS.viewer });
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({ code: 'alarm_not_found', message: 'no alarm alm_nothing' });
  });

  it('acknowledges as the shared token’s `by`, once; refuses a second with 409 and audits both', async () => {
    const id = byId('dc-02');
    const noBy = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { note: 'n' } });
    expect(noBy.status).toBe(400);
    expect(noBy.body.error.details.map((d: { path: string }) => d.path)).toEqual(['by']);
    const blank = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { by: '  ' } });
    expect(blank.body.error.details[0]).toEqual({ path: 'by', message: 'who acts is required' });
    const acked = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { by: ' Wang Li ', note: 'on site' } });
    expect(acked.status).toBe(200);
    expect(acked.body.alarm).toMatchObject({ id, acknowledged: true, acknowledgedBy: 'Wang Li', note: 'on site' });
    const again = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { by: 'Li Na' } });
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({
      code: 'alarm_already_acknowledged',
      message: `cannot ack alarm ${id}: alarm already acknowledged`,
    });
    const entries = (await call(gateway, `/api/audit?action=alarm.ack&target=${id}`)).body.entries;
    expect(entries.map((e: { outcome: string; by: string | null; note: string | null }) => [e.outcome, e.by, e.note])).toEqual([
      ['alarm_already_acknowledged', 'Li Na', null],
      ['ok', 'Wang Li', 'on site'],
    ]);
    const history = (await call(gateway, `/api/alarms/${id}`)).body.history;
    expect(history[1]).toMatchObject({ type: 'alarm.acknowledged', by: 'Wang Li', note: 'on site', severity: 'yellow' });
    // naming the occurrence seen: the alarm came back since, the acknowledgement is refused and nothing changes
    // (back at the same time: the list keeps its order for the tests after this one)
    gateway.alarms.apply([cleared('dc-02', T0 + MIN)]);
    gateway.alarms.apply([raised('dc-02', 'yellow', T0 + MIN)]);
    const stale = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { by: 'Wang Li', occurrence: 1 } });
    expect([stale.status, stale.body.error.code]).toEqual([409, 'alarm_reoccurred']);
    const current = await call(gateway, `/api/alarms/${id}/ack`, { token: ROLE_TOKENS.operator, body: { by: 'Wang Li', occurrence: 2 } });
    expect(current.status).toBe(200);
    expect(current.body.alarm).toMatchObject({ occurrences: 2, acknowledged: true });
    const unknown = await call(gateway, '/api/alarms/alm_nothing/ack', { token: ROLE_TOKENS.operator, body: { by: 'x' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('cannot ack alarm alm_nothing: alarm not found');
  });

  it('assigns for a dispatcher, with the assignee in the history and the list’s assignee filter', async () => {
    const id = byId('dc-09');
    const assigned = await call(gateway, `/api/alarms/${id}/assign`, {
      token: ROLE_TOKENS.dispatcher,
      body: { to: ' 张伟 ', by: 'Li Na', note: 'today' },
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body.alarm.assignee).toBe('张伟');
    expect(devicesOf((await list(`?assignee=${encodeURIComponent('张伟')}`)).alarms)).toEqual(['dc-09']);
    expect(devicesOf((await list('?assignee=-')).alarms)).toEqual(['dc-02', 'dc-01']);
    expect((await list('?assignee=')).total).toBe(3);
    expect(devicesOf((await list('?q=%E5%BC%A0%E4%BC%9F')).alarms)).toEqual(['dc-09']);
    const history = (await call(gateway, `/api/alarms/${id}`)).body.history;
    expect(history[1]).toEqual({
      type: 'alarm.assigned',
      at: expect.any(String),
      seq: 2,
      severity: 'red',
      by: 'Li Na',
      note: 'today',
      assignee: '张伟',
    });
    const entry = (await call(gateway, `/api/audit?action=alarm.assign&limit=1`)).body.entries[0];
    // the log says to whom, not only that someone assigned
    expect(entry).toMatchObject({
      target: id,
      outcome: 'ok',
      by: 'Li Na',
      note: 'today',
      actor: 'shared-dispatcher',
      detail: { to: '张伟' },
    });
    const noOne = await call(gateway, `/api/alarms/${id}/assign`, { token: ROLE_TOKENS.dispatcher, body: { to: ' ', by: 'x' } });
    expect(noOne.body.error.details[0]).toEqual({ path: 'to', message: 'the responsible person is required' });
    // "-" is the list filter's "nobody": assigned to it, the alarm would be in neither list
    const dash = await call(gateway, `/api/alarms/${id}/assign`, { token: ROLE_TOKENS.dispatcher, body: { to: ' - ', by: 'x' } });
    expect([dash.status, dash.body.error.details[0]]).toEqual([
      400,
      { path: 'to', message: 'the responsible person is required ("-" means nobody)' },
    ]);
    const unknown = await call(gateway, '/api/alarms/alm_nothing/assign', { token: ROLE_TOKENS.dispatcher, body: { to: 'a', by: 'b' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('cannot assign alarm alm_nothing: alarm not found');
    expect((await call(gateway, `/api/audit?action=alarm.assign&limit=1`)).body.entries[0].outcome).toBe('alarm_not_found');
  });

  it('resolves a cleared alarm with its disposal, not an active one; the history shows it as resolved', async () => {
    const id = byId('dc-01');
    const active = await call(gateway, `/api/alarms/${id}/resolve`, { token: ROLE_TOKENS.operator, body: { by: 'Wang Li' } });
    expect(active.status).toBe(409);
    expect(active.body.error.code).toBe('alarm_still_active');
    gateway.alarms.apply([cleared('dc-01', T0 + 5 * MIN)]);
    // the form was opened on the first occurrence; it came back and cleared meanwhile (at its old time: the list keeps
    // its order): not closed with a record written for the first
    gateway.alarms.apply([raised('dc-01', 'orange', T0)]);
    gateway.alarms.apply([cleared('dc-01', T0 + 5 * MIN)]);
    const stale = await call(gateway, `/api/alarms/${id}/resolve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', disposal: DISPOSAL, occurrence: 1 },
    });
    expect([stale.status, stale.body.error.code]).toEqual([409, 'alarm_reoccurred']);
    const resolved = await call(gateway, `/api/alarms/${id}/resolve`, {
      token: ROLE_TOKENS.operator,
      body: { by: 'Wang Li', note: 'closed', disposal: DISPOSAL, occurrence: 2 },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alarm).toMatchObject({ resolved: true, resolvedBy: 'Wang Li', note: 'closed', disposal: DISPOSAL });
    const history = (await call(gateway, `/api/alarms/${id}`)).body.history;
    expect(history.map((h: { type: string }) => h.type)).toEqual([
      'alarm.raised',
      'alarm.cleared',
      'alarm.raised',
      'alarm.cleared',
      'alarm.resolved',
    ]);
    expect(history[4]).toMatchObject({ by: 'Wang Li', note: 'closed', disposal: DISPOSAL });
    // the audit log keeps the disposal record with the resolve
    const logged = (await call(gateway, `/api/audit?action=alarm.resolve&target=${id}&limit=1`)).body.entries[0];
    expect(logged).toMatchObject({ outcome: 'ok', detail: { disposal: DISPOSAL } });
    expect(history[1]).not.toHaveProperty('disposal');
    expect(history[1]).not.toHaveProperty('assignee');
    expect(history[1]).not.toHaveProperty('held');
    expect(devicesOf((await list('?state=resolved')).alarms)).toEqual(['dc-01']);
    expect(devicesOf((await list('?state=all')).alarms)).toEqual(['dc-09', 'dc-02', 'dc-01']);
    expect(devicesOf((await list('')).alarms)).toEqual(['dc-09', 'dc-02']);
    expect((await list('?q=bearing')).total).toBe(0);
    expect(devicesOf((await list('?state=resolved&q=REPLACED')).alarms)).toEqual(['dc-01']);
    // the fields are searched one by one, not as one run of text
    expect((await list('?state=all&q=site-adc')).total).toBe(0);
    expect(devicesOf((await list('?state=resolved&q=%E8%BD%B4%E6%89%BF%20zhang')).alarms)).toEqual(['dc-01']);
    const csv = await call(gateway, '/api/alarms.csv?state=resolved', { token: ROLE_TOKENS.viewer });
    const [, row] = csv.text.split('\r\n');
    expect(row).toContain(',resolved,');
    expect(row).toContain(',Wang Li,');
    expect(row).toContain(',bearing replaced,Zhang Wei,,closed');
    const again = await call(gateway, `/api/alarms/${id}/resolve`, { token: ROLE_TOKENS.operator, body: { by: 'Wang Li' } });
    expect(again.body.error).toEqual({ code: 'alarm_resolved', message: `cannot resolve alarm ${id}: alarm resolved` });
    const entry = (await call(gateway, `/api/audit?action=alarm.resolve&limit=1`)).body.entries[0];
    expect(entry).toMatchObject({ target: id, outcome: 'alarm_resolved', by: 'Wang Li' });
  });

  it('exports the same rows as CSV: byte-order mark, header, CRLF, the list’s filters and limit', async () => {
    const csv = await call(gateway, '/api/alarms.csv?state=all', { token: ROLE_TOKENS.viewer });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="alarms.csv"');
    expect(csv.text.startsWith(`\uFEFF${ALARM_CSV_COLUMNS.join(',')}\r\n`)).toBe(true);
    expect(csv.text.endsWith('\r\n')).toBe(true);
    const rows = csv.text.slice(1).split('\r\n').slice(1, -1);
    expect(rows).toHaveLength(3);
    const dc09 = (rows[0] as string).split(',');
    const column = (name: (typeof ALARM_CSV_COLUMNS)[number]) => dc09[ALARM_CSV_COLUMNS.indexOf(name)];
    expect(column('id')).toBe(byId('dc-09'));
    expect(column('state')).toBe('active');
    expect(column('overdue')).toBe('false');
    expect(column('value')).toBe('85');
    expect(column('threshold')).toBe('80');
    expect(column('site')).toBe('site-b');
    expect(column('assignee')).toBe('张伟');
    expect(column('cause')).toBe('');
    expect(column('clearedAt')).toBe('');
    const limited = await call(gateway, '/api/alarms.csv?state=all&limit=1&site=site-a', { token: ROLE_TOKENS.viewer });
    expect(
      limited.text
        .slice(1)
        .split('\r\n')
        .slice(1, -1)
        .map((r) => r.split(',')[2]),
    ).toEqual(['dc-02']);
    expect((await call(gateway, '/api/alarms.csv?limit=0')).status).toBe(400);
  });

  it('writes a boolean reading as true or false in the CSV', async () => {
    gateway.alarms.apply([
      {
        ...raised('dc-02', 'blue', T0 + 9 * MIN, 'site-a'),
        key: 'site-a/dc-02/door_open',
        rule: 'door_open',
        verdict: {
          status: 'true',
          severity: 'blue',
          metric: 'door',
          value: true,
          threshold: null,
          unit: null,
          message: 'door open',
          messageZh: '检修门开启',
        },
      },
    ]);
    const csv = await call(gateway, '/api/alarms.csv?q=door', { token: ROLE_TOKENS.viewer });
    const row = (csv.text.split('\r\n')[1] as string).split(',');
    expect(row[ALARM_CSV_COLUMNS.indexOf('value')]).toBe('true');
    expect(row[ALARM_CSV_COLUMNS.indexOf('threshold')]).toBe('');
    // the Chinese message is searched too
    expect((await list(`?q=${encodeURIComponent('检修门')}`)).total).toBe(1);
  });
});

describe('the alarm list of a client that knows only the contract ("alarms, newest first")', () => {
  it('gets every alarm with no limit given: 1,500 of them, not the first 1,000', async () => {
    const gateway = await startHttpGateway();
    try {
      gateway.alarms.apply(Array.from({ length: 1_500 }, (_, i) => raised(`dc-${String(i).padStart(4, '0')}`, 'yellow', T0 + i * 1_000)));
      const listed = (await call(gateway, '/api/alarms', { token: ROLE_TOKENS.viewer })).body;
      expect([listed.count, listed.total]).toEqual([1_500, 1_500]);
      expect(listed.alarms[0].device).toBe('dc-1499');
      expect(listed.alarms.at(-1).device).toBe('dc-0000');
    } finally {
      await gateway.close();
    }
  }, 60_000);
});

describe('paging the alarm list by cursor', () => {
  it('gives the next page after the last one shown: an alarm resolved or raised between pages neither skips nor repeats one', async () => {
    const gateway = await startHttpGateway();
    try {
      const list = async (query: string) => (await call(gateway, `/api/alarms${query}`, { token: ROLE_TOKENS.viewer })).body;
      // dc-01 oldest … dc-04 newest; dc-03 and dc-04 raised in the same millisecond (the larger id first)
      for (const [device, at] of [
        ['dc-01', T0],
        ['dc-02', T0 + MIN],
        ['dc-03', T0 + 2 * MIN],
        ['dc-04', T0 + 2 * MIN],
      ] as const)
        gateway.alarms.apply([raised(device, 'orange', at)]);
      const all = (await list('')).alarms as Listed[];
      expect(all).toHaveLength(4);
      const first = await list('?limit=2');
      expect(first.alarms.map((a: Listed) => a.id)).toEqual(all.slice(0, 2).map((a) => a.id));
      expect([first.offset, typeof first.next]).toEqual([0, 'string']);
      // a cursor between two alarms raised in the same millisecond
      const one = await list('?limit=1');
      expect(devicesOf((await list(`?limit=1&after=${one.next}`)).alarms)).toEqual([all[1]?.device]);

      // the newest leaves the open list (cleared, then resolved with its record): by offset the next page skips one
      const newest = all[0] as Listed;
      gateway.alarms.apply([cleared(newest.device, T0 + 3 * MIN)]);
      const resolve = await call(gateway, `/api/alarms/${newest.id}/resolve`, {
        token: ROLE_TOKENS.operator,
        body: { by: 'Wang Li', disposal: DISPOSAL },
      });
      expect(resolve.status).toBe(200);
      const second = await list(`?limit=2&after=${first.next}`);
      expect(devicesOf(second.alarms)).toEqual(['dc-02', 'dc-01']);
      expect([second.count, second.total, second.offset, second.next]).toEqual([2, 3, 1, null]);
      expect(devicesOf((await list('?limit=2&offset=2')).alarms)).toEqual(['dc-01']);

      // two newer alarms come: by offset the next page repeats the first page's last one
      gateway.alarms.apply([raised('dc-05', 'orange', T0 + 4 * MIN)]);
      gateway.alarms.apply([raised('dc-06', 'orange', T0 + 5 * MIN)]);
      const again = await list(`?limit=2&after=${first.next}`);
      expect(devicesOf(again.alarms)).toEqual(['dc-02', 'dc-01']);
      expect([again.total, again.offset]).toEqual([5, 3]);
      expect(devicesOf((await list('?limit=2&offset=2')).alarms)).toEqual([all[1]?.device, 'dc-02']);
      expect(devicesOf((await list(`?limit=1&offset=1&after=${first.next}`)).alarms)).toEqual(['dc-01']);

      expect((await list('?after=bm90LWEtY3Vyc29y')).error.code).toBe('validation_failed');
    } finally {
      await gateway.close();
    }
  }, 60_000);
});
