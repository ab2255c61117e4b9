import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { bindSession, sessionOf } from './session.js';

describe('client sessions', () => {
  it('remembers who is behind a client, and knows nobody behind an unbound or absent one', () => {
    const lab = {} as Client;
    const other = {} as Client;
    bindSession(lab, { kind: 'lab' });
    expect(sessionOf(lab)).toEqual({ kind: 'lab' });
    expect(sessionOf(other)).toBeUndefined();
    expect(sessionOf(null)).toBeUndefined();
  });
});
