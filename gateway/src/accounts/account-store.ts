import type { Role } from './roles.js';

/** A user created over the API (users of the config file are not stored). */
export interface StoredUser {
  name: string;
  role: Role;
  /** `scrypt$<salt>$<hash>`. */
  passwordHash: string;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A console session; the cookie's value is never stored, only its SHA-256. */
export interface StoredSession {
  idHash: string;
  user: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

/** A user's personal API token; the token is shown once at creation and only its SHA-256 is stored. */
export interface StoredToken {
  id: string;
  user: string;
  label: string;
  role: Role;
  tokenHash: string;
  /** The token's first characters, to tell tokens apart in a list. */
  prefix: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** Users, sessions and personal tokens in the local store (gateway/src/store/account-store-sqlite.ts). */
export interface AccountStore {
  users(): StoredUser[];
  user(name: string): StoredUser | undefined;
  putUser(user: StoredUser): void;
  deleteUser(name: string): boolean;
  session(idHash: string): StoredSession | undefined;
  putSession(session: StoredSession): void;
  touchSession(idHash: string, at: number): void;
  deleteSession(idHash: string): boolean;
  /** Every session of a user (removed, disabled, new password); the number removed. */
  deleteSessionsOf(user: string): number;
  /** Sessions past their expiry; the number removed. */
  pruneSessions(now: number, idleSince: number): number;
  tokenByHash(tokenHash: string): StoredToken | undefined;
  tokens(user?: string): StoredToken[];
  putToken(token: StoredToken): void;
  touchToken(id: string, at: number): void;
  deleteToken(id: string): boolean;
  deleteTokensOf(user: string): number;
  /** The config file's users as the last start saw them: name → fingerprint of the password hash. */
  configUsersSeen(): Map<string, string>;
  /** Replaces what configUsersSeen answers. */
  setConfigUsersSeen(seen: ReadonlyMap<string, string>): void;
}
