import { describe, expect, it } from 'vitest';
import { createSqliteAccountStore } from '../store/account-store-sqlite.js';
import { openVolatileStore } from '../store/volatile-store.js';
import { createAccountService } from './account-service.js';
import { hashPassword } from './passwords.js';

const HOUR = 3_600_000;

async function setup() {
  let clock = Date.parse('2026-11-22T08:00:00Z');
  let id = 0;
  const db = openVolatileStore();
  const accounts = createAccountService({
    store: createSqliteAccountStore(db),
    configUsers: [{ name: 'chief', role: 'admin', passwordHash: await hashPassword('chief-password-1') }],
    sessions: { ttl: 12 * HOUR, idleTimeout: HOUR },
    now: () => clock,
    newId: () => {
      id += 1;
      return String(id);
    },
  });
  const advance = (ms: number): void => {
    clock += ms;
  };
  return { accounts, db, advance };
}

describe('account service', () => {
  it('logs a user in with the right password only, and the session names the user and role', async () => {
    const { accounts } = await setup();
    expect((await accounts.createUser({ name: '王丽', role: 'operator', password: 'duty-password-1' })).ok).toBe(true);
    expect(await accounts.login('王丽', 'wrong-password-1')).toEqual({ ok: false });
    expect(await accounts.login('nobody', 'duty-password-1')).toEqual({ ok: false });
    const login = await accounts.login('王丽', 'duty-password-1');
    if (!login.ok) throw new Error('login refused');
    expect(accounts.sessionCaller(login.sessionId)).toMatchObject({ name: '王丽', role: 'operator', kind: 'user' });
    expect(accounts.sessionCaller(`${login.sessionId}x`)).toBeNull();
    // A user of the config file logs in too.
    expect((await accounts.login('chief', 'chief-password-1')).ok).toBe(true);
  });

  it('ends a session after its ttl even when in use, and after the idle timeout without requests', async () => {
    const { accounts, advance } = await setup();
    await accounts.createUser({ name: 'wang', role: 'viewer', password: 'duty-password-1' });
    const busy = await accounts.login('wang', 'duty-password-1');
    const idle = await accounts.login('wang', 'duty-password-1');
    if (!busy.ok || !idle.ok) throw new Error('login refused');
    // Busy: a request every 50 minutes keeps it alive, until 12 h after login.
    for (let elapsed = 0; elapsed < 11 * HOUR; elapsed += 50 * 60_000) {
      advance(50 * 60_000);
      expect(accounts.sessionCaller(busy.sessionId), `after ${elapsed} ms`).not.toBeNull();
    }
    // 11 h 40 min after login, used 0 min ago; 30 min later it is not idle, but past the 12 h ttl.
    advance(30 * 60_000);
    expect(accounts.sessionCaller(busy.sessionId)).toBeNull();
    // Idle: nothing since login, long past the idle timeout.
    expect(accounts.sessionCaller(idle.sessionId)).toBeNull();
  });

  it('idle timeout alone: 59 minutes without a request is fine, 60 is not', async () => {
    const { accounts, advance } = await setup();
    await accounts.createUser({ name: 'wang', role: 'viewer', password: 'duty-password-1' });
    const login = await accounts.login('wang', 'duty-password-1');
    if (!login.ok) throw new Error('login refused');
    advance(59 * 60_000);
    expect(accounts.sessionCaller(login.sessionId)).not.toBeNull();
    advance(60 * 60_000);
    expect(accounts.sessionCaller(login.sessionId)).toBeNull();
  });

  it('logout, a new password, disabling or removing the user ends sessions; tokens stop with the user', async () => {
    const { accounts } = await setup();
    await accounts.createUser({ name: 'wang', role: 'operator', password: 'duty-password-1' });
    const first = await accounts.login('wang', 'duty-password-1');
    if (!first.ok) throw new Error('login refused');
    expect(accounts.logout(first.sessionId)).toBe(true);
    expect(accounts.sessionCaller(first.sessionId)).toBeNull();

    const second = await accounts.login('wang', 'duty-password-1');
    if (!second.ok) throw new Error('login refused');
    await accounts.updateUser('wang', { password: 'duty-password-2' });
    expect(accounts.sessionCaller(second.sessionId)).toBeNull();
    expect((await accounts.login('wang', 'duty-password-1')).ok).toBe(false);

    const token = accounts.createToken('wang', { label: 'script' });
    if (!token.ok) throw new Error('no token');
    expect(accounts.tokenCaller(token.value.token)).toMatchObject({ name: 'wang', role: 'operator', kind: 'user' });
    await accounts.updateUser('wang', { disabled: true });
    expect(accounts.tokenCaller(token.value.token)).toBeNull();
    expect((await accounts.login('wang', 'duty-password-2')).ok).toBe(false);
    expect(accounts.deleteUser('wang')).toEqual({ ok: true, value: null });
    expect(accounts.tokens('wang')).toEqual([]);
    expect(accounts.deleteUser('chief')).toEqual({ ok: false, error: 'user_in_config' });
  });

  it('a token never acts above its user, also after the user is demoted', async () => {
    const { accounts } = await setup();
    await accounts.createUser({ name: 'li', role: 'dispatcher', password: 'duty-password-1' });
    const asked = accounts.createToken('li', { label: 'wall', role: 'admin' });
    if (!asked.ok) throw new Error('no token');
    expect(asked.value.info.role).toBe('dispatcher');
    // A token cannot mint a stronger one: the request's role is the ceiling.
    const minted = accounts.createToken('li', { label: 'from a viewer token', role: 'dispatcher' }, 'viewer');
    expect(minted.ok && minted.value.info.role).toBe('viewer');
    await accounts.updateUser('li', { role: 'viewer' });
    expect(accounts.tokenCaller(asked.value.token)?.role).toBe('viewer');
  });

  it('a user of the config file given a new password hash, or removed from it: their sessions and tokens end at the next start', async () => {
    const store = createSqliteAccountStore(openVolatileStore());
    const start = (users: Array<{ name: string; passwordHash: string }>) =>
      createAccountService({
        store,
        configUsers: users.map((user) => ({ ...user, role: 'operator' as const })),
        sessions: { ttl: 12 * HOUR, idleTimeout: HOUR },
        now: () => Date.parse('2026-11-22T08:00:00Z'),
        newId: () => `${Math.random()}`.slice(2),
      });
    const [first, second] = [await hashPassword('li-password-one'), await hashPassword('li-password-two')];
    const signIn = async (accounts: ReturnType<typeof start>) => {
      const login = await accounts.login('li', 'li-password-one');
      const token = accounts.createToken('li', { label: 'desk' });
      if (!login.ok || !token.ok) throw new Error('login refused');
      return { session: login.sessionId, token: token.value.token };
    };
    // restarted with the file unchanged: the session and the token go on
    const kept = await signIn(start([{ name: 'li', passwordHash: first }]));
    const same = start([{ name: 'li', passwordHash: first }]);
    expect(same.sessionCaller(kept.session)?.name).toBe('li');
    expect(same.tokenCaller(kept.token)?.name).toBe('li');
    // a new hash in the file (a suspected leak): the old password, session and token are no way in
    const changed = start([{ name: 'li', passwordHash: second }]);
    expect(changed.sessionCaller(kept.session)).toBeNull();
    expect(changed.tokenCaller(kept.token)).toBeNull();
    // removed from the file, and a user of that name made over the API later: nothing of the old one opens it
    const again = await signIn(start([{ name: 'li', passwordHash: first }]));
    const removed = start([]);
    expect((await removed.createUser({ name: 'li', role: 'viewer', password: 'a new li of the store' })).ok).toBe(true);
    expect(removed.sessionCaller(again.session)).toBeNull();
    expect(removed.tokenCaller(again.token)).toBeNull();
  });
});
