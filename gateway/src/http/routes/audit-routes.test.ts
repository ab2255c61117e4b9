import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROLE_TOKENS, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';

describe('the audit log routes', () => {
  let gateway: RunningGateway;
  const AT = Date.UTC(2026, 11, 3, 8, 0);
  beforeAll(async () => {
    gateway = await startHttpGateway();
    for (let i = 0; i < 5; i++) {
      gateway.audit.record({
        at: AT + i * 60_000,
        actor: i % 2 === 0 ? 'wang' : 'li',
        actorKind: 'user',
        action: 'alarm.ack',
        target: `alm_${i}`,
        outcome: 'ok',
        note: i === 4 ? 'a "quoted", note' : null,
        by: null,
        address: '10.0.0.17',
        detail: null,
      });
    }
  }, 60_000);
  afterAll(() => gateway.close());

  const targets = (entries: Array<{ target: string }>) => entries.map((e) => e.target);

  it('pages newest first: nextBefore while a page is full, null at the end', async () => {
    const first = (await call(gateway, '/api/audit?actor=wang&limit=2', { token: ROLE_TOKENS.dispatcher })).body;
    expect(targets(first.entries)).toEqual(['alm_4', 'alm_2']);
    expect(first.count).toBe(2);
    expect(first.nextBefore).toBe(first.entries[1].id);
    const second = (await call(gateway, `/api/audit?actor=wang&limit=2&before=${first.nextBefore}`)).body;
    expect(targets(second.entries)).toEqual(['alm_0']);
    expect(second.nextBefore).toBeNull();
    const exact = (await call(gateway, '/api/audit?actor=li&limit=2')).body;
    expect(targets(exact.entries)).toEqual(['alm_3', 'alm_1']);
    expect(exact.nextBefore).toBe(exact.entries[1].id);
    expect((await call(gateway, '/api/audit?actor=nobody')).body).toEqual({ entries: [], count: 0, nextBefore: null });
    expect((await call(gateway, '/api/audit?limit=1001')).status).toBe(400);
  });

  it('filters by target and by time, from inclusive and to exclusive', async () => {
    expect(targets((await call(gateway, '/api/audit?target=alm_3')).body.entries)).toEqual(['alm_3']);
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const window = (await call(gateway, `/api/audit?action=alarm.ack&from=${at(AT + 60_000)}&to=${at(AT + 3 * 60_000)}`)).body;
    expect(targets(window.entries)).toEqual(['alm_2', 'alm_1']);
    const csv = await call(gateway, `/api/audit.csv?action=alarm.ack&from=${at(AT + 3 * 60_000)}`, { token: ROLE_TOKENS.dispatcher });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="audit.csv"');
    const lines = csv.text.split('\r\n');
    expect(lines[0]?.startsWith('\uFEFF')).toBe(true);
    expect(lines.slice(1, -1)).toHaveLength(2);
    expect(lines[1]).toContain('alm_4');
    expect(lines[1]).toContain('"a ""quoted"", note"');
    const before = await call(gateway, `/api/audit.csv?action=alarm.ack&to=${at(AT + 60_000)}`);
    expect(before.text.split('\r\n').slice(1, -1)).toHaveLength(1);
    expect((await call(gateway, '/api/audit.csv', { token: ROLE_TOKENS.operator })).status).toBe(403);
  });

  it('exports a large log a chunk at a time, letting the event loop go, and says when the limit cut it and where the rest starts', async () => {
    for (let i = 0; i < 12_500; i++) {
      gateway.audit.record({
        at: AT + 3_600_000 + i,
        actor: 'bulk',
        actorKind: 'token',
        action: 'rules.reload',
        target: null,
        outcome: 'ok',
        note: null,
        by: null,
        address: null,
        detail: { n: i },
      });
    }
    let turns = 0;
    let turning = true;
    const turn = (): void => {
      turns += 1;
      if (turning) setImmediate(turn);
    };
    setImmediate(turn);
    const cut = await call(gateway, '/api/audit.csv?actor=bulk&limit=12000');
    turning = false;
    // six chunks of 2,000: the broker's thread had its turns between them
    expect(turns).toBeGreaterThanOrEqual(6);
    expect(cut.text.split('\r\n').slice(1, -1)).toHaveLength(12_000);
    expect(cut.headers['x-audit-truncated']).toBe('true');
    const rest = await call(gateway, `/api/audit.csv?actor=bulk&before=${cut.headers['x-audit-next-before']}`);
    const restLines = rest.text.split('\r\n').slice(1, -1);
    expect(restLines).toHaveLength(500);
    expect(restLines[0]).toContain('{""n"":499}');
    expect(rest.headers['x-audit-truncated']).toBeUndefined();
    // exactly as many as match: not cut
    expect((await call(gateway, '/api/audit.csv?actor=bulk&limit=12500')).headers['x-audit-truncated']).toBeUndefined();
  });
});
