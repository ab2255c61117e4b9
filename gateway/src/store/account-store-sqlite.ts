import type { AccountStore, StoredSession, StoredToken, StoredUser } from '../accounts/account-store.js';
import type { Role } from '../accounts/roles.js';
import type { StoreDatabase } from './open-store.js';

interface UserRow {
  name: string;
  role: string;
  password_hash: string;
  disabled: number;
  created_at: number;
  updated_at: number;
}
interface SessionRow {
  id_hash: string;
  user_name: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}
interface TokenRow {
  id: string;
  user_name: string;
  label: string;
  role: string;
  token_hash: string;
  prefix: string;
  created_at: number;
  last_used_at: number | null;
}

const user = (row: UserRow): StoredUser => ({
  name: row.name,
  role: row.role as Role,
  passwordHash: row.password_hash,
  disabled: row.disabled !== 0,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});
const session = (row: SessionRow): StoredSession => ({
  idHash: row.id_hash,
  user: row.user_name,
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  expiresAt: row.expires_at,
});
const token = (row: TokenRow): StoredToken => ({
  id: row.id,
  user: row.user_name,
  label: row.label,
  role: row.role as Role,
  tokenHash: row.token_hash,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** Users, sessions and personal tokens in the local store (migration 7). */
export function createSqliteAccountStore(db: StoreDatabase): AccountStore {
  const q = {
    users: db.prepare('SELECT * FROM app_user ORDER BY name'),
    user: db.prepare('SELECT * FROM app_user WHERE name = ?'),
    putUser: db.prepare(
      `INSERT INTO app_user (name, role, password_hash, disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
         disabled = excluded.disabled, updated_at = excluded.updated_at`,
    ),
    deleteUser: db.prepare('DELETE FROM app_user WHERE name = ?'),
    session: db.prepare('SELECT * FROM user_session WHERE id_hash = ?'),
    putSession: db.prepare('INSERT INTO user_session (id_hash, user_name, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    touchSession: db.prepare('UPDATE user_session SET last_seen_at = ? WHERE id_hash = ?'),
    deleteSession: db.prepare('DELETE FROM user_session WHERE id_hash = ?'),
    deleteSessionsOf: db.prepare('DELETE FROM user_session WHERE user_name = ?'),
    pruneSessions: db.prepare('DELETE FROM user_session WHERE expires_at <= ? OR last_seen_at <= ?'),
    tokenByHash: db.prepare('SELECT * FROM user_token WHERE token_hash = ?'),
    tokens: db.prepare('SELECT * FROM user_token ORDER BY created_at, id'),
    tokensOf: db.prepare('SELECT * FROM user_token WHERE user_name = ? ORDER BY created_at, id'),
    putToken: db.prepare(
      `INSERT INTO user_token (id, user_name, label, role, token_hash, prefix, created_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    touchToken: db.prepare('UPDATE user_token SET last_used_at = ? WHERE id = ?'),
    deleteToken: db.prepare('DELETE FROM user_token WHERE id = ?'),
    deleteTokensOf: db.prepare('DELETE FROM user_token WHERE user_name = ?'),
    configUsersSeen: db.prepare('SELECT name, password_fp FROM config_user_seen').raw(true),
    forgetConfigUsers: db.prepare('DELETE FROM config_user_seen'),
    seeConfigUser: db.prepare('INSERT INTO config_user_seen (name, password_fp) VALUES (?, ?)'),
  };
  const setConfigUsersSeen = db.transaction((seen: ReadonlyMap<string, string>) => {
    q.forgetConfigUsers.run();
    for (const [name, fingerprint] of seen) q.seeConfigUser.run(name, fingerprint);
  });
  return {
    users: () => (q.users.all() as UserRow[]).map(user),
    user(name) {
      const row = q.user.get(name) as UserRow | undefined;
      return row && user(row);
    },
    putUser: (u) => {
      q.putUser.run(u.name, u.role, u.passwordHash, u.disabled ? 1 : 0, u.createdAt, u.updatedAt);
    },
    deleteUser: (name) => q.deleteUser.run(name).changes > 0,
    session(idHash) {
      const row = q.session.get(idHash) as SessionRow | undefined;
      return row && session(row);
    },
    putSession: (s) => {
      q.putSession.run(s.idHash, s.user, s.createdAt, s.lastSeenAt, s.expiresAt);
    },
    touchSession: (idHash, at) => {
      q.touchSession.run(at, idHash);
    },
    deleteSession: (idHash) => q.deleteSession.run(idHash).changes > 0,
    deleteSessionsOf: (name) => q.deleteSessionsOf.run(name).changes,
    pruneSessions: (now, idleSince) => q.pruneSessions.run(now, idleSince).changes,
    tokenByHash(tokenHash) {
      const row = q.tokenByHash.get(tokenHash) as TokenRow | undefined;
      return row && token(row);
    },
    tokens: (name) => ((name === undefined ? q.tokens.all() : q.tokensOf.all(name)) as TokenRow[]).map(token),
    putToken: (t) => {
      q.putToken.run(t.id, t.user, t.label, t.role, t.tokenHash, t.prefix, t.createdAt, t.lastUsedAt);
    },
    touchToken: (id, at) => {
      q.touchToken.run(at, id);
    },
    deleteToken: (id) => q.deleteToken.run(id).changes > 0,
    deleteTokensOf: (name) => q.deleteTokensOf.run(name).changes,
    configUsersSeen: () => new Map(q.configUsersSeen.all() as Array<[string, string]>),
    setConfigUsersSeen: (seen) => setConfigUsersSeen(seen),
  };
}
