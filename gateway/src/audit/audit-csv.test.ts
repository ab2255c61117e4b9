import { describe, expect, it } from 'vitest';
import { auditCsv, csvField } from './audit-csv.js';
import type { AuditEntry } from './audit-log.js';

const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  id: 1,
  at: '2026-11-22T08:00:00.000Z',
  actor: '王丽',
  actorKind: 'user',
  action: 'alarm.ack',
  target: 'alm_1',
  outcome: 'ok',
  note: null,
  by: null,
  address: '127.0.0.1',
  detail: null,
  ...over,
});

describe('audit CSV', () => {
  it('quotes fields with commas, quotes and line breaks, doubling quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(42)).toBe('42');
  });

  it('defuses what a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('starts with a BOM and a header, one CRLF-ended row per entry, detail as JSON', () => {
    const csv = auditCsv([entry({ note: '已处理, 见"记录"', detail: { role: 'operator' } })]);
    expect(csv.startsWith('\uFEFFid,at,actor,actorKind,action,target,outcome,note,by,address,detail\r\n')).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')[1]).toBe(
      '1,2026-11-22T08:00:00.000Z,王丽,user,alarm.ack,alm_1,ok,"已处理, 见""记录""",,127.0.0.1,"{""role"":""operator""}"',
    );
  });
});
