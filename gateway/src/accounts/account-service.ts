import { createHash, randomBytes } from 'node:crypto';
import type { AccountStore, StoredToken, StoredUser } from './account-store.js';
import { hashPassword, MIN_PASSWORD_LENGTH, verifyNothing, verifyPassword } from './passwords.js';
import { lesserRole, type Role } from './roles.js';

/**
 * Who makes a request: a named user (console session or personal token: `kind: 'user'`), or a shared token of the
 * config file (`api.tokens`, `kind: 'token'`), which acts as its token name.
 */
export interface Caller {
  name: string;
  role: Role;
  kind: 'user' | 'token';
  /** Set when the caller came with a session cookie (logout ends this one). */
  sessionId?: string;
  /** Set when the caller came with a personal token: its id (the audit log says which credential acted). */
  tokenId?: string;
}

/** A user of the config file (`api.users`): can log in and own tokens, not changed over the API. */
export interface ConfigUser {
  name: string;
  role: Role;
  passwordHash: string;
}

/** A user as the API shows it (never the hash). */
export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  /** `config`: from `api.users`, changed only in the file; `store`: created over the API. */
  source: 'config' | 'store';
  createdAt: string | null;
}

export interface TokenView {
  id: string;
  user: string;
  label: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export type AccountFailure =
  | 'user_exists'
  | 'user_not_found'
  | 'user_in_config'
  | 'password_too_short'
  | 'wrong_password'
  | 'token_not_found';
export type AccountResult<T> = { ok: true; value: T } | { ok: false; error: AccountFailure };

export interface SessionSettings {
  /** A session ends this long after login, whatever happens (ms). */
  ttl: number;
  /** …or after this long without a request (ms). */
  idleTimeout: number;
}

export interface AccountServiceDeps {
  store: AccountStore;
  configUsers: readonly ConfigUser[];
  sessions: SessionSettings;
  now(): number;
  newId(): string;
}

/** Personal tokens start with this, so a leaked one is recognisable (secret scanners) and told from config tokens. */
export const USER_TOKEN_PREFIX = 'gwu_';
/** Writes of a session's last request are spaced at least this far apart (a request per second does not write each time). */
const TOUCH_EVERY_MS = 30_000;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64');
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const tokenView = (token: StoredToken): TokenView => ({
  id: token.id,
  user: token.user,
  label: token.label,
  role: token.role,
  prefix: token.prefix,
  createdAt: new Date(token.createdAt).toISOString(),
  lastUsedAt: iso(token.lastUsedAt),
});

export type AccountService = ReturnType<typeof createAccountService>;

/** Named users with roles, their console sessions and personal API tokens. */
export function createAccountService(deps: AccountServiceDeps) {
  const { store } = deps;
  const configUsers = new Map(deps.configUsers.map((user) => [user.name, user]));
  endStaleConfigCredentials(store, configUsers);

  /** The user by that name who may act now (not disabled), with their role and password hash. */
  const activeUser = (name: string): { role: Role; passwordHash: string } | undefined => {
    const fromConfig = configUsers.get(name);
    if (fromConfig) return fromConfig;
    const stored = store.user(name);
    return stored && !stored.disabled ? stored : undefined;
  };

  const userView = (user: StoredUser): UserView => ({
    name: user.name,
    role: user.role,
    disabled: user.disabled,
    source: 'store',
    createdAt: new Date(user.createdAt).toISOString(),
  });

  const tooShort = (password: string): boolean => password.length < MIN_PASSWORD_LENGTH;
  let lastPrune = Number.NEGATIVE_INFINITY;
  /** Told when a credential may have ended (a session, a token, a user): open live feeds look at theirs again. */
  const changeListeners = new Set<() => void>();
  const credentialsChanged = (): void => {
    for (const listener of changeListeners) {
      try {
        listener();
      } catch {
        // a listener's own fault (it says so itself): the change is made, the others are still told
      }
    }
  };

  return {
    /** Calls `listener` after any change that may end a credential (logout, a new password, disabling, removal, a revoked token); returns the unsubscribe. */
    onCredentialsChanged(listener: () => void): () => void {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },

    /** Checks the password; on success opens a session. The cookie carries `sessionId`; the store only its hash. */
    async login(
      name: string,
      password: string,
    ): Promise<{ ok: true; caller: Caller; sessionId: string; expiresAt: number } | { ok: false }> {
      const user = activeUser(name);
      const ok = user ? await verifyPassword(password, user.passwordHash) : await verifyNothing(password);
      if (!ok || !user) return { ok: false };
      const at = deps.now();
      const sessionId = randomBytes(32).toString('base64url');
      const expiresAt = at + deps.sessions.ttl;
      store.putSession({ idHash: sha256(sessionId), user: name, createdAt: at, lastSeenAt: at, expiresAt });
      return { ok: true, caller: { name, role: user.role, kind: 'user', sessionId }, sessionId, expiresAt };
    },

    /**
     * The caller of a session cookie, or null when it is unknown, expired, idle too long, or its user is gone.
     * `touch` false: asked again for a request already admitted (an open live feed), the session's last use stays.
     */
    sessionCaller(sessionId: string, touch = true): Caller | null {
      const idHash = sha256(sessionId);
      const session = store.session(idHash);
      if (!session) return null;
      const at = deps.now();
      const user = activeUser(session.user);
      if (!user || at >= session.expiresAt || at - session.lastSeenAt >= deps.sessions.idleTimeout) {
        store.deleteSession(idHash);
        return null;
      }
      if (touch && at - session.lastSeenAt >= TOUCH_EVERY_MS) store.touchSession(idHash, at);
      return { name: session.user, role: user.role, kind: 'user', sessionId };
    },

    /** Ends a session (logout); false when it had already ended. */
    logout(sessionId: string): boolean {
      const ended = store.deleteSession(sha256(sessionId));
      credentialsChanged();
      return ended;
    },

    /** The caller of a personal token: its user, acting with the lesser of the token's and the user's role (`touch` as sessionCaller's). */
    tokenCaller(token: string, touch = true): Caller | null {
      if (!token.startsWith(USER_TOKEN_PREFIX)) return null;
      const found = store.tokenByHash(sha256(token));
      const user = found && activeUser(found.user);
      if (!found || !user) return null;
      const at = deps.now();
      if (touch && (found.lastUsedAt === null || at - found.lastUsedAt >= TOUCH_EVERY_MS)) store.touchToken(found.id, at);
      return { name: found.user, role: lesserRole(found.role, user.role), kind: 'user', tokenId: found.id };
    },

    /** Removes sessions past their expiry; called on every tick, it runs at most once a minute. */
    pruneSessions(): number {
      const at = deps.now();
      if (at - lastPrune < 60_000) return 0;
      lastPrune = at;
      return store.pruneSessions(at, at - deps.sessions.idleTimeout);
    },

    users(): UserView[] {
      const fromConfig: UserView[] = [...configUsers.values()].map((u) => ({
        name: u.name,
        role: u.role,
        disabled: false,
        source: 'config',
        createdAt: null,
      }));
      return [...fromConfig, ...store.users().map(userView)];
    },

    async createUser(input: { name: string; role: Role; password: string }): Promise<AccountResult<UserView>> {
      if (configUsers.has(input.name) || store.user(input.name)) return { ok: false, error: 'user_exists' };
      if (tooShort(input.password)) return { ok: false, error: 'password_too_short' };
      // a name used before (a user of the file since removed): what that user left opens nothing for this one
      store.deleteSessionsOf(input.name);
      store.deleteTokensOf(input.name);
      const at = deps.now();
      const user: StoredUser = {
        name: input.name,
        role: input.role,
        passwordHash: await hashPassword(input.password),
        disabled: false,
        createdAt: at,
        updatedAt: at,
      };
      store.putUser(user);
      return { ok: true, value: userView(user) };
    },

    /**
     * A new role, password or disabled flag; a new password or disabling ends the user's sessions, a new password also
     * their personal tokens (a reset after a suspected leak ends every way in), disabling stops the tokens.
     */
    async updateUser(name: string, change: { role?: Role | undefined; password?: string | undefined; disabled?: boolean | undefined }) {
      if (configUsers.has(name)) return { ok: false, error: 'user_in_config' } as const;
      const user = store.user(name);
      if (!user) return { ok: false, error: 'user_not_found' } as const;
      if (change.password !== undefined && tooShort(change.password)) return { ok: false, error: 'password_too_short' } as const;
      const updated: StoredUser = {
        ...user,
        role: change.role ?? user.role,
        disabled: change.disabled ?? user.disabled,
        passwordHash: change.password === undefined ? user.passwordHash : await hashPassword(change.password),
        updatedAt: deps.now(),
      };
      store.putUser(updated);
      if (change.password !== undefined || updated.disabled) store.deleteSessionsOf(name);
      if (change.password !== undefined) store.deleteTokensOf(name);
      credentialsChanged();
      return { ok: true, value: userView(updated) } as const;
    },

    /** A user's own new password, given the current one; every session and personal token of the user ends (log in again). */
    async changePassword(name: string, current: string, next: string): Promise<AccountResult<null>> {
      if (configUsers.has(name)) return { ok: false, error: 'user_in_config' };
      const user = store.user(name);
      if (!user || user.disabled) return { ok: false, error: 'user_not_found' };
      if (!(await verifyPassword(current, user.passwordHash))) return { ok: false, error: 'wrong_password' };
      if (tooShort(next)) return { ok: false, error: 'password_too_short' };
      store.putUser({ ...user, passwordHash: await hashPassword(next), updatedAt: deps.now() });
      store.deleteSessionsOf(name);
      store.deleteTokensOf(name);
      credentialsChanged();
      return { ok: true, value: null };
    },

    /** Removes a user with their sessions and tokens. */
    deleteUser(name: string): AccountResult<null> {
      if (configUsers.has(name)) return { ok: false, error: 'user_in_config' };
      if (!store.deleteUser(name)) return { ok: false, error: 'user_not_found' };
      store.deleteSessionsOf(name);
      store.deleteTokensOf(name);
      credentialsChanged();
      return { ok: true, value: null };
    },

    /**
     * A personal token for `user`, with at most the user's role and `ceiling` (the role the request acts with: a
     * viewer token of an admin cannot mint an admin token); the token itself is in the answer only.
     */
    createToken(
      user: string,
      input: { label: string; role?: Role | undefined },
      ceiling: Role = 'admin',
    ): AccountResult<{ token: string; info: TokenView }> {
      const owner = activeUser(user);
      if (!owner) return { ok: false, error: 'user_not_found' };
      const token = `${USER_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const stored: StoredToken = {
        id: `tok_${deps.newId()}`,
        user,
        label: input.label,
        role: lesserRole(lesserRole(input.role ?? owner.role, owner.role), ceiling),
        tokenHash: sha256(token),
        prefix: token.slice(0, USER_TOKEN_PREFIX.length + 6),
        createdAt: deps.now(),
        lastUsedAt: null,
      };
      store.putToken(stored);
      return { ok: true, value: { token, info: tokenView(stored) } };
    },

    tokens: (user?: string): TokenView[] => store.tokens(user).map(tokenView),

    /** Revokes a token; `owner` given: only if it is theirs. */
    revokeToken(id: string, owner?: string): AccountResult<TokenView> {
      const found = store.tokens(owner).find((token) => token.id === id);
      if (!found || !store.deleteToken(id)) return { ok: false, error: 'token_not_found' };
      credentialsChanged();
      return { ok: true, value: tokenView(found) };
    },
  };
}

/**
 * A user of the config file is changed in the file: a new password hash after a suspected leak, or the entry
 * removed. Their sessions and personal tokens are tied to the name only, so at start those of a user whose hash
 * changed since the last start, or who left the file, are ended — as a password reset over the API ends them.
 */
function endStaleConfigCredentials(store: AccountStore, configUsers: ReadonlyMap<string, { passwordHash: string }>): void {
  const now = new Map([...configUsers].map(([name, user]) => [name, sha256(user.passwordHash)]));
  for (const [name, fingerprint] of store.configUsersSeen()) {
    if (now.get(name) === fingerprint) continue;
    store.deleteSessionsOf(name);
    store.deleteTokensOf(name);
  }
  store.setConfigUsersSeen(now);
}
