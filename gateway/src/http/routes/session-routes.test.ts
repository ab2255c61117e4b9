import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROLE_TOKENS, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import { hashPassword } from '../../accounts/passwords.js';
import type { RunningGateway } from '../../gateway.js';

const PASSWORD = 'correct horse battery';
const HOST = { host: 'gw.example:8080' };
const SAME_ORIGIN = { ...HOST, origin: 'http://gw.example:8080' };

/** Logs a user in: the session cookie as a request header. */
async function login(gateway: RunningGateway, name: string, password = PASSWORD): Promise<string> {
  const answer = await call(gateway, '/auth/login', { token: null, body: { name, password } });
  expect(answer.status).toBe(200);
  return String(answer.headers['set-cookie']).split(';')[0] as string;
}

// Each login checks a scrypt hash (tens of milliseconds, seconds on a busy machine): users log in once, in the hook.
describe('sessions, users and personal tokens', { timeout: 30_000 }, () => {
  let gateway: RunningGateway;
  const cookies: Record<string, string> = {};
  const lastAudit = async (action: string) => (await call(gateway, `/api/audit?action=${action}&limit=1`)).body.entries[0];

  beforeAll(async () => {
    gateway = await startHttpGateway({ users: [{ name: 'filed', role: 'operator', passwordHash: await hashPassword(PASSWORD) }] });
    for (const [name, role] of [
      ['wang', 'operator'],
      ['li', 'viewer'],
      ['zhou', 'viewer'],
      ['zhao', 'viewer'],
    ] as const) {
      expect((await call(gateway, '/api/users', { body: { name, role, password: PASSWORD } })).status).toBe(201);
    }
    for (const name of ['wang', 'li', 'filed']) cookies[name] = await login(gateway, name);
    gateway.alarms.apply([raised('dc-01', 'orange', Date.now() - 60_000)]);
  }, 60_000);
  afterAll(() => gateway.close());

  it('logs in: the session cookie, who it is, and the audit entry', async () => {
    const answer = await call(gateway, '/auth/login', { token: null, body: { name: 'wang', password: PASSWORD } });
    expect(answer.status).toBe(200);
    expect(answer.body.user).toEqual({ name: 'wang', role: 'operator', kind: 'user' });
    const expiresAt = Date.parse(answer.body.expiresAt);
    expect(expiresAt).toBeGreaterThan(Date.now() + 11.9 * 3_600_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 12 * 3_600_000);
    expect(answer.headers['set-cookie']).toMatch(/^gw_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = String(answer.headers['set-cookie']).split(';')[0] as string;
    const who = await call(gateway, '/auth/session', { token: null, headers: { cookie: `theme=dark; ${cookie}` } });
    expect(who.body).toEqual({ user: { name: 'wang', role: 'operator', kind: 'user' } });
    expect(await lastAudit('session.login')).toMatchObject({ actor: 'wang', actorKind: 'user', target: 'wang', outcome: 'ok' });
    const token = await call(gateway, '/auth/session', { token: ROLE_TOKENS.viewer });
    expect(token.body).toEqual({ user: { name: 'shared-viewer', role: 'viewer', kind: 'token' } });
  });

  it('refuses a wrong password as login_failed, audited under the name tried', async () => {
    const wrong = await call(gateway, '/auth/login', { token: null, body: { name: 'wang', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: 'login_failed', message: 'wrong user name or password' });
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect(await lastAudit('session.login_failed')).toMatchObject({
      actor: 'wang',
      actorKind: 'anonymous',
      target: 'wang',
      outcome: 'login_failed',
    });
    expect(await gateway.metricsText()).toMatch(/gateway_http_auth_failures_total\{reason="bad_password"\} [1-9]/);
  });

  it('takes a session only from its own origin for unsafe methods; refuses an ended session and a role too low', async () => {
    const cookie = cookies.wang as string;
    const [alarm] = (await call(gateway, '/api/alarms')).body.alarms;
    const foreign = await call(gateway, `/api/alarms/${alarm.id}/ack`, {
      token: null,
      body: {},
      headers: { cookie, ...HOST, origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toBe('a session cannot act from a page of another origin');
    const opaque = await call(gateway, `/api/alarms/${alarm.id}/ack`, {
      token: null,
      body: {},
      headers: { cookie, ...HOST, origin: 'null' },
    });
    expect(opaque.status).toBe(403);
    expect((await call(gateway, '/api/alarms', { token: null, headers: { cookie, ...HOST, origin: 'http://evil.example' } })).status).toBe(
      200,
    );
    const tooLow = await call(gateway, '/api/users', { token: null, headers: { cookie } });
    expect(tooLow.status).toBe(403);
    expect(tooLow.body.error.message).toBe('this needs the admin role; you have operator');
    expect(await lastAudit('access.forbidden')).toMatchObject({
      actor: 'wang',
      actorKind: 'user',
      detail: { needs: 'admin', role: 'operator' },
    });
    // the user the route names is the target, as an alarm's id is
    const rename = await call(gateway, '/api/users/li', {
      token: null,
      method: 'PATCH',
      body: { role: 'admin' },
      headers: { cookie, ...SAME_ORIGIN },
    });
    expect(rename.status).toBe(403);
    expect(await lastAudit('access.forbidden')).toMatchObject({ actor: 'wang', target: 'li', detail: { route: '/api/users/:name' } });
    const ended = await call(gateway, '/api/alarms', { token: null, headers: { cookie: 'gw_session=nothing-like-it' } });
    expect(ended.status).toBe(401);
    expect(ended.body.error.message).toBe('the session has ended (logged out or expired); log in again');
    expect(await gateway.metricsText()).toMatch(/gateway_http_auth_failures_total\{reason="bad_session"\} [1-9]/);
    // a bearer token wins over the cookie
    const both = await call(gateway, '/auth/session', { token: ROLE_TOKENS.admin, headers: { cookie: 'gw_session=nothing-like-it' } });
    expect(both.body.user.name).toBe('shared-admin');
  });

  it('records a user’s actions as the user: `by` may be left out, and one that differs goes to the audit entry', async () => {
    const cookie = cookies.wang as string;
    const [alarm] = (await call(gateway, '/api/alarms')).body.alarms;
    const acked = await call(gateway, `/api/alarms/${alarm.id}/ack`, {
      token: null,
      body: { note: 'seen' },
      headers: { cookie, ...SAME_ORIGIN },
    });
    expect(acked.status).toBe(200);
    expect(acked.body.alarm.acknowledgedBy).toBe('wang');
    expect(await lastAudit('alarm.ack')).toMatchObject({ actor: 'wang', actorKind: 'user', by: null, note: 'seen' });
    const admin = cookies.filed as string;
    expect((await call(gateway, '/api/users/filed', { method: 'PATCH', body: { role: 'dispatcher' } })).status).toBe(409);
    const assigned = await call(gateway, `/api/alarms/${alarm.id}/assign`, {
      token: ROLE_TOKENS.dispatcher,
      body: { to: 'Zhang', by: 'Li Na' },
    });
    expect(assigned.status).toBe(200);
    const shelved = await call(gateway, `/api/alarms/${alarm.id}/shelve`, {
      token: null,
      body: { by: 'someone else', reason: 'r', durationMinutes: 5 },
      headers: { cookie: admin, ...SAME_ORIGIN },
    });
    expect(shelved.status).toBe(200);
    expect(shelved.body.shelf.by).toBe('filed');
    expect(await lastAudit('alarm.shelve')).toMatchObject({ actor: 'filed', by: 'someone else' });
    const blankBy = await call(gateway, `/api/alarms/${alarm.id}/unshelve`, {
      token: null,
      body: {},
      headers: { cookie: admin, ...SAME_ORIGIN },
    });
    expect(blankBy.status).toBe(200);
    expect(blankBy.body.shelf.endedBy).toBe('filed');
    const notJson = await call(gateway, `/api/alarms/${alarm.id}/assign`, { token: null, body: [], headers: { cookie, ...SAME_ORIGIN } });
    expect(notJson.status).toBe(403);
  });

  it('logs out: the cookie is cleared and the session ends; a token has no session to end', async () => {
    const cookie = await login(gateway, 'zhou');
    const out = await call(gateway, '/auth/logout', { token: null, method: 'POST', headers: { cookie, ...SAME_ORIGIN } });
    expect(out.body).toEqual({ loggedOut: true });
    expect(out.headers['set-cookie']).toBe('gw_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect(await lastAudit('session.logout')).toMatchObject({ actor: 'zhou', target: 'zhou' });
    expect((await call(gateway, '/auth/session', { token: null, headers: { cookie } })).status).toBe(401);
    const token = await call(gateway, '/auth/logout', { token: ROLE_TOKENS.viewer, method: 'POST' });
    expect(token.body).toEqual({ loggedOut: false });
    expect(token.headers['set-cookie']).toBeUndefined();
  });

  it('changes one’s own password: not with a token, not with a wrong one, not for a user of the file', async () => {
    const cookie = await login(gateway, 'zhao');
    const body = { currentPassword: PASSWORD, newPassword: 'a new password here' };
    const token = await call(gateway, '/auth/password', { token: ROLE_TOKENS.viewer, body });
    expect(token.status).toBe(403);
    expect(token.body.error.message).toBe('a shared token has no password: log in as a user');
    const wrong = await call(gateway, '/auth/password', {
      token: null,
      body: { ...body, currentPassword: 'not the password' },
      headers: { cookie, ...SAME_ORIGIN },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toEqual({ code: 'login_failed', message: 'the current password is wrong' });
    expect(await lastAudit('user.update')).toMatchObject({
      target: 'zhao',
      outcome: 'login_failed',
      detail: { password: 'changed by the user' },
    });
    const short = await call(gateway, '/auth/password', {
      token: null,
      body: { ...body, newPassword: 'short' },
      headers: { cookie, ...SAME_ORIGIN },
    });
    expect(short.body.error.details).toEqual([{ path: 'newPassword', message: 'at least 10 characters' }]);
    const filed = cookies.filed as string;
    const inConfig = await call(gateway, '/auth/password', { token: null, body, headers: { cookie: filed, ...SAME_ORIGIN } });
    expect(inConfig.status).toBe(409);
    expect(inConfig.body.error).toEqual({ code: 'user_in_config', message: 'cannot change the password of filed: user in config' });
    const changed = await call(gateway, '/auth/password', { token: null, body, headers: { cookie, ...SAME_ORIGIN } });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ changed: true });
    expect(changed.headers['set-cookie']).toBe('gw_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
    expect(await lastAudit('user.update')).toMatchObject({ target: 'zhao', outcome: 'ok', actor: 'zhao' });
    expect((await call(gateway, '/auth/session', { token: null, headers: { cookie } })).status).toBe(401);
    await login(gateway, 'zhao', 'a new password here');
  });

  it("counts a wrong current password as a failed login of the user's name: past loginFailuresPerUser (10) the name is held", async () => {
    expect((await call(gateway, '/api/users', { body: { name: 'qian', role: 'viewer', password: PASSWORD } })).status).toBe(201);
    const cookie = await login(gateway, 'qian');
    const change = (currentPassword: string) =>
      call(gateway, '/auth/password', {
        token: null,
        body: { currentPassword, newPassword: 'a new password here' },
        headers: { cookie, ...SAME_ORIGIN },
      });
    for (let i = 0; i < 10; i += 1) expect((await change(`guess number ${i}`)).status).toBe(401);
    // the right one is not even checked now, in the session or at the login
    expect((await change(PASSWORD)).status).toBe(429);
    const login429 = await call(gateway, '/auth/login', { token: null, body: { name: 'qian', password: PASSWORD } });
    expect(login429.status).toBe(429);
  });

  it('manages users for an admin, each change audited', async () => {
    const users = (await call(gateway, '/api/users')).body.users;
    expect(users.map((u: { name: string }) => u.name)).toEqual(expect.arrayContaining(['filed', 'wang', 'li']));
    expect(users.find((u: { name: string }) => u.name === 'filed')).toMatchObject({ source: 'config', role: 'operator' });
    expect(await lastAudit('user.create')).toMatchObject({ outcome: 'ok', actor: 'shared-admin' });
    const created = await call(gateway, '/api/users', { body: { name: 'sun', role: 'dispatcher', password: PASSWORD } });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ name: 'sun', role: 'dispatcher', disabled: false, source: 'store' });
    expect(await lastAudit('user.create')).toMatchObject({ target: 'sun', outcome: 'ok', detail: { role: 'dispatcher' } });
    const twice = await call(gateway, '/api/users', { body: { name: 'sun', role: 'viewer', password: PASSWORD } });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toEqual({ code: 'user_exists', message: 'cannot create user sun: user exists' });
    expect(await lastAudit('user.create')).toMatchObject({ target: 'sun', outcome: 'user_exists', detail: { role: 'viewer' } });
    const changed = await call(gateway, '/api/users/sun', { method: 'PATCH', body: { role: 'viewer', password: 'another password 1' } });
    expect(changed.status).toBe(200);
    expect(changed.body.user).toMatchObject({ name: 'sun', role: 'viewer' });
    expect(await lastAudit('user.update')).toMatchObject({ target: 'sun', outcome: 'ok', detail: { role: 'viewer', password: 'changed' } });
    await call(gateway, '/api/users/sun', { method: 'PATCH', body: { disabled: true } });
    expect((await lastAudit('user.update')).detail).toEqual({ disabled: true });
    const unknown = await call(gateway, '/api/users/nobody', { method: 'PATCH', body: { role: 'viewer' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toEqual({ code: 'user_not_found', message: 'cannot change user nobody: user not found' });
    expect(await lastAudit('user.update')).toMatchObject({ target: 'nobody', outcome: 'user_not_found' });
    const removed = await call(gateway, '/api/users/sun', { method: 'DELETE' });
    expect(removed.body).toEqual({ deleted: 'sun' });
    expect(await lastAudit('user.delete')).toMatchObject({ target: 'sun', outcome: 'ok' });
    const gone = await call(gateway, '/api/users/sun', { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toBe('cannot remove user sun: user not found');
    expect(await lastAudit('user.delete')).toMatchObject({ target: 'sun', outcome: 'user_not_found' });
    const filed = await call(gateway, '/api/users/filed', { method: 'DELETE' });
    expect(filed.body.error.code).toBe('user_in_config');
  });

  it('creates personal tokens for named users only, lists and revokes them', async () => {
    const wang = cookies.wang as string;
    const shared = await call(gateway, '/api/tokens', { token: ROLE_TOKENS.operator, body: { label: 'script' } });
    expect(shared.status).toBe(403);
    expect(shared.body.error.message).toBe('personal tokens belong to named users: log in as one');
    const created = await call(gateway, '/api/tokens', {
      token: null,
      body: { label: ' desk ' },
      headers: { cookie: wang, ...SAME_ORIGIN },
    });
    expect(created.status).toBe(201);
    expect(created.body.info).toMatchObject({ user: 'wang', label: 'desk', role: 'operator' });
    expect(await lastAudit('token.create')).toMatchObject({
      actor: 'wang',
      target: created.body.info.id,
      detail: { label: 'desk', role: 'operator' },
    });
    const personal = created.body.token as string;
    expect((await call(gateway, '/auth/session', { token: personal })).body.user).toEqual({ name: 'wang', role: 'operator', kind: 'user' });
    // a token (a script's) is no way to take the account over: its user's password changes only in a session
    const retake = await call(gateway, '/auth/password', {
      token: personal,
      body: { currentPassword: PASSWORD, newPassword: 'taken over by a script' },
    });
    expect(retake.status).toBe(403);
    expect(retake.body.error.message).toBe('a personal token cannot change its user’s password: log in to the console');
    await login(gateway, 'wang');
    const li = cookies.li as string;
    const liToken = await call(gateway, '/api/tokens', { token: null, body: { label: 'mine' }, headers: { cookie: li, ...SAME_ORIGIN } });
    const own = (await call(gateway, '/api/tokens', { token: personal })).body.tokens.map((t: { id: string }) => t.id);
    expect(own).toEqual([created.body.info.id]);
    const everyone = (await call(gateway, '/api/tokens')).body.tokens.map((t: { id: string }) => t.id);
    expect(everyone).toEqual(expect.arrayContaining([created.body.info.id, liToken.body.info.id]));
    expect((await call(gateway, '/api/tokens', { token: ROLE_TOKENS.viewer })).body.tokens).toEqual([]);
    const notYours = await call(gateway, `/api/tokens/${liToken.body.info.id}`, { token: personal, method: 'DELETE' });
    expect(notYours.status).toBe(404);
    // what the token did is told from what its user did in a session: the entry names the token
    expect(await lastAudit('token.revoke')).toMatchObject({
      actor: 'wang',
      target: liToken.body.info.id,
      outcome: 'token_not_found',
      detail: { token: created.body.info.id },
    });
    const sharedRevoke = await call(gateway, `/api/tokens/${liToken.body.info.id}`, { token: ROLE_TOKENS.viewer, method: 'DELETE' });
    expect(sharedRevoke.body.error).toEqual({ code: 'token_not_found', message: `no token ${liToken.body.info.id} of yours` });
    const revoked = await call(gateway, `/api/tokens/${created.body.info.id}`, { token: personal, method: 'DELETE' });
    expect(revoked.body).toEqual({ revoked: created.body.info.id });
    expect(await lastAudit('token.revoke')).toMatchObject({ target: created.body.info.id, outcome: 'ok', actor: 'wang' });
    expect((await call(gateway, '/auth/session', { token: personal })).status).toBe(401);
    const byAdmin = await call(gateway, `/api/tokens/${liToken.body.info.id}`, { method: 'DELETE' });
    expect(byAdmin.body).toEqual({ revoked: liToken.body.info.id });
    const missing = await call(gateway, '/api/tokens/tok_nothing', { method: 'DELETE' });
    expect(missing.body.error).toEqual({ code: 'token_not_found', message: 'cannot revoke token tok_nothing: token not found' });
  });
});

describe('a gateway that allows two failed logins per user name', { timeout: 30_000 }, () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startHttpGateway({ loginFailuresPerUser: 2 });
    await call(gateway, '/api/users', { body: { name: 'wang', role: 'operator', password: PASSWORD } });
  }, 60_000);
  afterAll(() => gateway.close());

  it('answers 429 to the name’s next login, right or wrong, and not to other names', async () => {
    for (let i = 0; i < 3; i++) {
      const wrong = await call(gateway, '/auth/login', { token: null, body: { name: 'wang', password: `wrong password ${i}` } });
      expect(wrong.status).toBe(i < 2 ? 401 : 429);
    }
    const right = await call(gateway, '/auth/login', { token: null, body: { name: 'WANG', password: PASSWORD } });
    expect(right.status).toBe(429);
    expect(right.body.error).toEqual({ code: 'rate_limited', message: 'too many failed logins; try again later' });
    expect(Number(right.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await call(gateway, '/auth/login', { token: null, body: { name: 'li', password: 'wrong password' } })).status).toBe(401);
  });

  it('holds the name only at the address that failed: nobody elsewhere can lock its user out with wrong passwords', async () => {
    // a user of its own: no failure of another test counts
    expect((await call(gateway, '/api/users', { body: { name: 'zhang', role: 'operator', password: PASSWORD } })).status).toBe(201);
    const from = (remoteAddress: string, password: string) =>
      gateway.http.app.inject({ method: 'POST', url: '/auth/login', remoteAddress, payload: { name: 'zhang', password } });
    for (let i = 0; i < 3; i++) expect((await from('192.0.2.7', `wrong password ${i}`)).statusCode).toBe(i < 2 ? 401 : 429);
    expect((await from('192.0.2.7', PASSWORD)).statusCode).toBe(429);
    // the duty officer's own desk
    expect((await from('198.51.100.20', PASSWORD)).statusCode).toBe(200);
    // guesses spread over many addresses: the name is held after ten times the per-address number in all
    let answered = 0;
    for (let i = 0; i < 30 && answered < 20; i++) {
      const status = (await from(`203.0.113.${i}`, 'wrong password')).statusCode;
      if (status === 401) answered += 1;
      else break;
    }
    // 2 × 10 for the name in all, of which 2 went before, from 192.0.2.7 (its third was refused unchecked)
    expect(answered).toBe(20 - 2);
  });
});
