import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../gateway/src/accounts/passwords.js';
import { parseCsv } from './helpers/csv.js';
import { connectDevice, publishJson, telemetryTopicOf } from './helpers/mqtt-device.js';
import { api, eventually, metricValue, startTestGateway, type TestGateway, TOKENS } from './helpers/test-gateway.js';

interface Answer {
  status: number;
  headers: Headers;
  /** The body as sent (fetch's text() drops a byte-order mark). */
  bytes: Buffer;
  text: string;
  body: any;
}

/** One real HTTP request with a session cookie or a bearer token. */
async function call(
  gateway: TestGateway,
  path: string,
  init: { method?: string; cookie?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${gateway.httpUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? null : JSON.stringify(init.body),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // CSV
  }
  return { status: response.status, headers: response.headers, bytes, text, body };
}

/** Logs in; the cookie as a browser would send it back. */
async function login(gateway: TestGateway, name: string, password: string): Promise<{ answer: Answer; cookie: string }> {
  const answer = await call(gateway, '/auth/login', { body: { name, password } });
  const setCookie = answer.headers.get('set-cookie') ?? '';
  return { answer, cookie: setCookie.split(';')[0] ?? '' };
}

const PASSWORDS = { operator: '值班员的密码-0001', viewer: 'viewer-password-01', dispatcher: 'dispatch-password-1' };
const NOTE = '已到现场, 检查了"除尘器"阀门';

describe('named users, sessions, personal tokens and the audit log, over real HTTP with a real store', () => {
  let gateway: TestGateway;
  let dataDir: string;
  let device: MqttClient;
  let device2: MqttClient;
  let seq = 0;
  let clock = Date.parse('2026-11-22T08:00:00Z');
  let operatorCookie = '';
  let personalToken = '';
  let chiefHash = '';

  const send = async (deviceId: string, hopperTemp: number): Promise<void> => {
    seq += 1;
    clock += 600_000;
    const client = deviceId === 'dc-01' ? device : device2;
    await publishJson(client, telemetryTopicOf('site-a', deviceId), { ts: clock, seq, metrics: { hopper_temp: hopperTemp } });
    await gateway.settle();
  };
  const activeAlarm = (deviceId: string) =>
    eventually(`an alarm of ${deviceId}`, async () =>
      (await api(gateway, `/api/alarms?device=${deviceId}`)).body.alarms.find((a: { rule: string }) => a.rule === 'hopper_temp_high'),
    );
  const start = (dir?: string) =>
    startTestGateway({
      overrides: {
        influx: { mode: 'off' },
        ...(dir ? { dataDir: dir } : {}),
        api: {
          tokens: Object.entries(TOKENS).map(([role, token]) => ({ name: `test-${role}`, role, token })),
          authFailures: { max: 100, window: '1m' },
          loginFailuresPerUser: 3,
          users: [{ name: '安全总监', role: 'admin', passwordHash: chiefHash }],
        },
      },
    });

  beforeAll(async () => {
    chiefHash = await hashPassword('chief-password-01');
    gateway = await start();
    dataDir = gateway.config.dataDir;
    for (const [name, role, password] of [
      ['王丽', 'operator', PASSWORDS.operator],
      ['zhao.viewer', 'viewer', PASSWORDS.viewer],
      ['调度员', 'dispatcher', PASSWORDS.dispatcher],
    ] as const) {
      const created = await api(gateway, '/api/users', { token: TOKENS.admin, body: { name, role, password } });
      expect(created.status, name).toBe(201);
    }
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    device2 = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });
  });
  afterAll(async () => {
    await device?.endAsync();
    await device2?.endAsync();
    await gateway?.close();
  });

  it('login sets an HttpOnly, SameSite=Strict session cookie; the acknowledgement and the audit entry name the user', async () => {
    const { answer, cookie } = await login(gateway, '王丽', PASSWORDS.operator);
    expect(answer.status).toBe(200);
    expect(answer.body.user).toEqual({ name: '王丽', role: 'operator', kind: 'user' });
    const setCookie = answer.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^gw_session=[A-Za-z0-9_-]{40,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain(`Max-Age=${12 * 3600}`);
    operatorCookie = cookie;
    expect((await call(gateway, '/auth/session', { cookie })).body.user).toEqual({ name: '王丽', role: 'operator', kind: 'user' });

    await send('dc-01', 40);
    await send('dc-01', 71);
    const alarm = await activeAlarm('dc-01');
    // No typed `by`: the session's user is who acts. A `by` that differs does not replace the user.
    const ack = await call(gateway, `/api/alarms/${alarm.id}/ack`, { cookie, body: { note: NOTE } });
    expect(ack.status).toBe(200);
    expect(ack.body.alarm).toMatchObject({ acknowledged: true, acknowledgedBy: '王丽', note: NOTE });
    const history = (await api(gateway, `/api/alarms/${alarm.id}`)).body.history;
    expect(history.at(-1)).toMatchObject({ type: 'alarm.acknowledged', by: '王丽', note: NOTE });

    const audit = await api(gateway, `/api/audit?target=${alarm.id}`, { token: TOKENS.admin });
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toEqual([
      expect.objectContaining({
        actor: '王丽',
        actorKind: 'user',
        action: 'alarm.ack',
        target: alarm.id,
        outcome: 'ok',
        note: NOTE,
        by: null,
      }),
    ]);
    const login_ = await api(gateway, '/api/audit?action=session.login&actor=王丽', { token: TOKENS.admin });
    expect(login_.body.entries[0]).toMatchObject({ actorKind: 'user', target: '王丽', address: '127.0.0.1' });
  });

  it('a user of the config file (api.users) logs in and manages users, and is changed only in the file', async () => {
    const chief = await login(gateway, '安全总监', 'chief-password-01');
    expect(chief.answer.body.user).toEqual({ name: '安全总监', role: 'admin', kind: 'user' });
    const users = (await call(gateway, '/api/users', { cookie: chief.cookie })).body.users;
    expect(users.map((u: { name: string; source: string }) => `${u.name}:${u.source}`)).toEqual([
      '安全总监:config',
      'zhao.viewer:store',
      '王丽:store',
      '调度员:store',
    ]);
    const change = await call(gateway, `/api/users/${encodeURIComponent('安全总监')}`, {
      cookie: chief.cookie,
      method: 'PATCH',
      body: { role: 'viewer' },
    });
    expect(change.status).toBe(409);
    expect(change.body.error.code).toBe('user_in_config');
    const audit = await api(gateway, '/api/audit?action=user.update', { token: TOKENS.admin });
    expect(audit.body.entries[0]).toMatchObject({ actor: '安全总监', target: '安全总监', outcome: 'user_in_config' });
  });

  it('a shared config token still acts as its typed `by` on the alarm; the audit names the token and the `by`', async () => {
    await send('dc-02', 40);
    await send('dc-02', 71);
    const alarm = await activeAlarm('dc-02');
    const ack = await api(gateway, `/api/alarms/${alarm.id}/ack`, { token: TOKENS.operator, body: { by: 'Wang Li (duty officer)' } });
    expect(ack.body.alarm.acknowledgedBy).toBe('Wang Li (duty officer)');
    const audit = await api(gateway, `/api/audit?target=${alarm.id}`, { token: TOKENS.admin });
    expect(audit.body.entries[0]).toMatchObject({ actor: 'test-operator', actorKind: 'token', by: 'Wang Li (duty officer)' });
  });

  it('a viewer session cannot acknowledge (403) and cannot read the audit log; a dispatcher session can', async () => {
    await send('dc-01', 40); // clears dc-01's alarm (acknowledged, not yet resolved)
    const viewer = await login(gateway, 'zhao.viewer', PASSWORDS.viewer);
    expect(viewer.answer.status).toBe(200);
    await send('dc-02', 40);
    const open = (await call(gateway, '/api/alarms', { cookie: viewer.cookie })).body.alarms;
    expect(open.length).toBeGreaterThan(0);
    const refused = await call(gateway, `/api/alarms/${open[0].id}/resolve`, { cookie: viewer.cookie, body: { by: 'zhao' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect((await call(gateway, '/api/audit', { cookie: viewer.cookie })).status).toBe(403);
    expect((await call(gateway, '/api/audit', { cookie: operatorCookie })).status).toBe(403);
    const dispatcher = await login(gateway, '调度员', PASSWORDS.dispatcher);
    expect((await call(gateway, '/api/audit', { cookie: dispatcher.cookie })).status).toBe(200);
    expect((await call(gateway, '/api/users', { cookie: dispatcher.cookie })).status).toBe(403);
    // A session cannot act from another origin's page.
    const foreign = await call(gateway, `/api/alarms/${open[0].id}/resolve`, {
      cookie: operatorCookie,
      body: {},
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
  });

  it('counts wrong passwords, throttles the name with 429 (even the right password), and audits each failure', async () => {
    // api.loginFailuresPerUser: 3 — three are answered; after them the name is blocked for the window, the right
    // password included (it is not even checked: no fourth guess).
    for (let i = 0; i < 3; i += 1) {
      const wrong = await login(gateway, 'zhao.viewer', `not-the-password-${i}`);
      expect(wrong.answer.status).toBe(401);
      expect(wrong.answer.body.error.code).toBe('login_failed');
      expect(wrong.answer.headers.get('set-cookie')).toBeNull();
    }
    const blocked = await login(gateway, 'zhao.viewer', PASSWORDS.viewer);
    expect(blocked.answer.status).toBe(429);
    expect(blocked.answer.body.error.code).toBe('rate_limited');
    expect(Number(blocked.answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another name from the same address is not held up by this one's failures.
    expect((await login(gateway, '调度员', PASSWORDS.dispatcher)).answer.status).toBe(200);
    // An unknown name fails the same way as a wrong password.
    expect((await login(gateway, 'nobody', PASSWORDS.viewer)).answer.body.error.code).toBe('login_failed');

    const metrics = (await api(gateway, '/metrics', { token: null })).body as string;
    expect(metricValue(metrics, 'gateway_http_auth_failures_total', { reason: 'bad_password' })).toBe(4);
    const failures = await api(gateway, '/api/audit?action=session.login_failed', { token: TOKENS.admin });
    expect(failures.body.entries.map((e: { actor: string; actorKind: string }) => `${e.actor}/${e.actorKind}`)).toEqual([
      'nobody/anonymous',
      'zhao.viewer/anonymous',
      'zhao.viewer/anonymous',
      'zhao.viewer/anonymous',
    ]);
  });

  it('a personal API token acts as its user, is shown once and stored only as a hash', async () => {
    const created = await call(gateway, '/api/tokens', { cookie: operatorCookie, body: { label: '值班脚本' } });
    expect(created.status).toBe(201);
    personalToken = created.body.token;
    expect(personalToken).toMatch(/^gwu_/);
    expect(created.body.info).toMatchObject({ user: '王丽', role: 'operator', label: '值班脚本' });
    const listed = await call(gateway, '/api/tokens', { cookie: operatorCookie });
    expect(JSON.stringify(listed.body)).not.toContain(personalToken);
    expect(listed.body.tokens.map((t: { label: string }) => t.label)).toEqual(['值班脚本']);
    // Never above the role the request acts with: a viewer token of an operator mints viewer tokens only.
    const weak = await call(gateway, '/api/tokens', { cookie: operatorCookie, body: { label: 'wall', role: 'viewer' } });
    const minted = await call(gateway, '/api/tokens', { token: weak.body.token, body: { label: 'more', role: 'admin' } });
    expect(minted.body.info.role).toBe('viewer');
    expect((await call(gateway, '/api/tokens', { cookie: operatorCookie, body: { label: 'x', role: 'admin' } })).body.info.role).toBe(
      'operator',
    );
    for (const token of [weak.body.info.id, minted.body.info.id])
      expect((await call(gateway, `/api/tokens/${token}`, { token: personalToken, method: 'DELETE' })).status).toBe(200);
    expect((await call(gateway, '/auth/session', { token: weak.body.token })).status).toBe(401);
    // A shared token has no user to own a personal one.
    expect((await api(gateway, '/api/tokens', { token: TOKENS.admin, body: { label: 'x' } })).status).toBe(403);

    const alarm = (await api(gateway, '/api/alarms?device=dc-01')).body.alarms[0];
    expect(alarm.state).toBe('cleared');
    const resolved = await call(gateway, `/api/alarms/${alarm.id}/resolve`, {
      token: personalToken,
      body: { by: 'someone else', note: NOTE },
    });
    expect(resolved.status).toBe(200);
    expect(resolved.body.alarm).toMatchObject({ resolved: true, resolvedBy: '王丽' });
    const audit = await api(gateway, `/api/audit?target=${alarm.id}&action=alarm.resolve`, { token: TOKENS.admin });
    expect(audit.body.entries[0]).toMatchObject({ actor: '王丽', actorKind: 'user', by: 'someone else', note: NOTE });
    // The role is the user's: an operator's token cannot reload rules.
    expect((await call(gateway, '/api/rules/reload', { token: personalToken, method: 'POST' })).status).toBe(403);

    // The store file (and its write-ahead log) hold neither the token, the session, nor the password.
    const bytes = readdirSync(dataDir)
      .filter((file) => file.startsWith('gateway.db'))
      .map((file) => readFileSync(join(dataDir, file)).toString('latin1'))
      .join('');
    expect(bytes).toContain(Buffer.from('值班脚本').toString('latin1')); // the label is there: the files were read
    expect(bytes).not.toContain(personalToken);
    expect(bytes).not.toContain(personalToken.slice(4, 30));
    expect(bytes).not.toContain(decodeURIComponent(operatorCookie.split('=')[1] ?? 'x'));
    expect(bytes).not.toContain(Buffer.from(PASSWORDS.operator).toString('latin1'));
  });

  it('logout ends the session: the cookie no longer works, and it is audited', async () => {
    const { cookie } = await login(gateway, '王丽', PASSWORDS.operator);
    expect((await call(gateway, '/auth/session', { cookie })).status).toBe(200);
    const out = await call(gateway, '/auth/logout', { cookie, method: 'POST' });
    expect(out.body).toEqual({ loggedOut: true });
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    const after = await call(gateway, '/auth/session', { cookie });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
    // The other session of the same user lives on.
    expect((await call(gateway, '/auth/session', { cookie: operatorCookie })).status).toBe(200);
    const logouts = await api(gateway, '/api/audit?action=session.logout', { token: TOKENS.admin });
    expect(logouts.body.entries[0]).toMatchObject({ actor: '王丽', actorKind: 'user' });
  });

  it('audits rule reloads (over the API and by SIGHUP) and webhook administration, refused ones with their code', async () => {
    const chief = await login(gateway, '安全总监', 'chief-password-01');
    expect((await call(gateway, '/api/rules/reload', { cookie: chief.cookie, method: 'POST' })).status).toBe(200);
    expect((await gateway.reloadRules()).ok).toBe(true); // what SIGHUP calls
    const reloads = (await api(gateway, '/api/audit?action=rules.reload', { token: TOKENS.admin })).body.entries;
    expect(reloads.map((e: { actor: string; actorKind: string }) => `${e.actor}/${e.actorKind}`)).toEqual([
      'system/system',
      '安全总监/user',
    ]);
    expect(reloads[1].detail).toMatchObject({ changedAlarms: 0 });
    expect((await call(gateway, '/api/webhooks/nobody/enable', { cookie: chief.cookie, method: 'POST' })).status).toBe(404);
    expect((await api(gateway, '/api/webhooks/dead-letters/dlq_none/replay', { method: 'POST' })).status).toBe(404);
    const hooks = await api(gateway, '/api/audit?actor=安全总监&action=webhook.enable', { token: TOKENS.admin });
    expect(hooks.body.entries).toEqual([expect.objectContaining({ target: 'nobody', outcome: 'webhook_not_found' })]);
    const replay = await api(gateway, '/api/audit?action=webhook.replay', { token: TOKENS.admin });
    expect(replay.body.entries[0]).toMatchObject({
      actor: 'test-admin',
      actorKind: 'token',
      target: 'dlq_none',
      outcome: 'dead_letter_not_found',
    });
  });

  it('pages the audit log newest first with nextBefore', async () => {
    const first = await api(gateway, '/api/audit?limit=2', { token: TOKENS.admin });
    expect(first.body.count).toBe(2);
    const second = await api(gateway, `/api/audit?limit=2&before=${first.body.nextBefore}`, { token: TOKENS.admin });
    const ids = [...first.body.entries, ...second.body.entries].map((e: { id: number }) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(new Set(ids).size).toBe(4);
    const all = await api(gateway, '/api/audit?limit=1000', { token: TOKENS.admin });
    expect(all.body.nextBefore).toBeNull();
    expect(all.body.entries.slice(0, 4).map((e: { id: number }) => e.id)).toEqual(ids);
    // A time window: from is inclusive, to exclusive (ISO 8601 with an offset, as a Chinese duty desk writes it).
    const newest = all.body.entries[0];
    const atNewest = encodeURIComponent(newest.at);
    expect((await api(gateway, `/api/audit?from=${atNewest}`, { token: TOKENS.admin })).body.entries[0].id).toBe(newest.id);
    const to = await api(gateway, `/api/audit?to=${atNewest}&limit=1000`, { token: TOKENS.admin });
    expect(to.body.entries.every((e: { at: string }) => e.at < newest.at)).toBe(true);
    expect(
      (await api(gateway, '/api/audit?from=2000-01-01T08:00:00%2B08:00&to=2000-01-02T00:00:00Z', { token: TOKENS.admin })).body.count,
    ).toBe(0);
    expect((await api(gateway, '/api/audit?from=yesterday', { token: TOKENS.admin })).status).toBe(400);
  });

  it('keeps users, tokens and the audit log across a restart, and exports CSV that parses back', async () => {
    const before = (await api(gateway, '/api/audit?limit=1000', { token: TOKENS.admin })).body.entries;
    await device.endAsync();
    await device2.endAsync();
    await gateway.close();
    gateway = await start(dataDir);
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    device2 = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });

    const after = (await api(gateway, '/api/audit?limit=1000', { token: TOKENS.admin })).body.entries;
    expect(after.slice(-before.length)).toEqual(before);
    expect(after[0]).toMatchObject({ action: 'gateway.start', actorKind: 'system' });
    // The session from before the restart, the personal token and the password still work.
    expect((await call(gateway, '/auth/session', { cookie: operatorCookie })).body.user.name).toBe('王丽');
    expect((await call(gateway, '/auth/session', { token: personalToken })).body.user.name).toBe('王丽');
    expect((await login(gateway, '王丽', PASSWORDS.operator)).answer.status).toBe(200);

    const csv = await call(gateway, '/api/audit.csv?action=alarm.resolve', { token: TOKENS.admin });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toContain('attachment');
    expect([...csv.bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // the UTF-8 byte-order mark, for Excel
    const [header, ...rows] = parseCsv(csv.text.slice(1));
    expect(header).toEqual(['id', 'at', 'actor', 'actorKind', 'action', 'target', 'outcome', 'note', 'by', 'address', 'detail']);
    expect(rows).toHaveLength(1);
    const row = Object.fromEntries(header!.map((column, i) => [column, rows[0]![i]]));
    expect(row).toMatchObject({ actor: '王丽', actorKind: 'user', action: 'alarm.resolve', note: NOTE, by: 'someone else', outcome: 'ok' });
    // Everything exported: as many rows as entries.
    const whole = await call(gateway, '/api/audit.csv', { token: TOKENS.admin });
    expect(parseCsv(whole.text.slice(1))).toHaveLength(after.length + 2); // + the header, + this login
  });

  it('a user changes their own password given the current one; every session of theirs ends', async () => {
    const first = await login(gateway, '调度员', PASSWORDS.dispatcher);
    const second = await login(gateway, '调度员', PASSWORDS.dispatcher);
    const wrong = await call(gateway, '/auth/password', {
      cookie: first.cookie,
      body: { currentPassword: 'not-my-password', newPassword: '新的调度员密码-0002' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('login_failed');
    const changed = await call(gateway, '/auth/password', {
      cookie: first.cookie,
      body: { currentPassword: PASSWORDS.dispatcher, newPassword: '新的调度员密码-0002' },
    });
    expect(changed.body).toEqual({ changed: true });
    for (const cookie of [first.cookie, second.cookie]) expect((await call(gateway, '/auth/session', { cookie })).status).toBe(401);
    expect((await login(gateway, '调度员', PASSWORDS.dispatcher)).answer.status).toBe(401);
    expect((await login(gateway, '调度员', '新的调度员密码-0002')).answer.status).toBe(200);
    // A user of the config file changes it in the file; a shared token has no password.
    const chief = await login(gateway, '安全总监', 'chief-password-01');
    const inFile = await call(gateway, '/auth/password', {
      cookie: chief.cookie,
      body: { currentPassword: 'chief-password-01', newPassword: 'another-password-1' },
    });
    expect(inFile.body.error.code).toBe('user_in_config');
    const shared = await api(gateway, '/auth/password', { body: { currentPassword: 'x', newPassword: 'another-password-1' } });
    expect(shared.status).toBe(403);
    const audit = await api(gateway, '/api/audit?actor=调度员&action=user.update', { token: TOKENS.admin });
    expect(audit.body.entries.map((e: { outcome: string }) => e.outcome)).toEqual(['ok', 'login_failed']);
  });
});
