import { z } from 'zod';
import { type Alarm, type AlarmBook, newestFirst, severitySchema } from '../../../../rules/src/index.js';
import { csvField } from '../../audit/audit-csv.js';

const time = z.iso.datetime({ offset: true });
const flag = z.enum(['true', 'false']);

// Query parameters carry their examples one by one: the document lists them as separate parameters.
/** The filters of `GET /api/alarms` and `GET /api/alarms.csv`: contract §6's, and the console's additions. */
export const alarmFilterQuery = {
  state: z
    .enum(['open', 'active', 'cleared', 'all', 'resolved'])
    .default('open')
    .meta({ examples: ['active'] })
    .describe('open: not yet resolved (active, or cleared but not closed by a duty officer); resolved: closed (the history)'),
  site: z
    .string()
    .optional()
    .meta({ examples: ['site-a'] }),
  device: z
    .string()
    .optional()
    .meta({ examples: ['dc-01'] }),
  severity: severitySchema
    .optional()
    .meta({ examples: ['orange'] })
    .describe('only alarms of this severity'),
  profile: z
    .string()
    .optional()
    .meta({ examples: ['dust-collector'] }),
  assignee: z
    .string()
    .max(200)
    .optional()
    .meta({ examples: ['Zhang Wei (maintenance)'] })
    .describe('only alarms assigned to this person; `-` for alarms assigned to nobody'),
  overdue: flag
    .optional()
    .meta({ examples: ['true'] })
    .describe('true: only alarms past their same-day deadline; false: only the others'),
  q: z
    .string()
    .max(200)
    .optional()
    .meta({ examples: ['hopper'] })
    .describe('text search, case-insensitive, in the message (English and Chinese), site, device, rule, assignee and disposal'),
  from: time
    .optional()
    .meta({ examples: ['2026-11-22T00:00:00+08:00'] })
    .describe('raised at or after (ISO 8601)'),
  to: time
    .optional()
    .meta({ examples: ['2026-11-23T00:00:00+08:00'] })
    .describe('raised before (ISO 8601)'),
};

export type AlarmFilter = z.infer<z.ZodObject<typeof alarmFilterQuery>>;

const searchText = (alarm: Alarm): string =>
  [
    alarm.message,
    alarm.messageZh,
    alarm.site,
    alarm.device,
    alarm.rule,
    alarm.profile,
    alarm.assignee,
    alarm.disposal?.cause,
    alarm.disposal?.measures,
    alarm.disposal?.responsible,
  ]
    .filter((part): part is string => typeof part === 'string')
    .join('\n')
    .toLowerCase();

/** The alarms that match, newest first (the book's order). */
export function selectAlarms(book: Pick<AlarmBook, 'list'>, filter: AlarmFilter): Alarm[] {
  const { state, site, device, severity } = filter;
  const listed = book.list({ state: state === 'resolved' ? 'all' : state, site, device, severity });
  const from = filter.from === undefined ? null : Date.parse(filter.from);
  const to = filter.to === undefined ? null : Date.parse(filter.to);
  const words = (filter.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  return listed.filter((alarm) => {
    if (state === 'resolved' && !alarm.resolved) return false;
    if (filter.profile && alarm.profile !== filter.profile) return false;
    if (filter.assignee !== undefined && filter.assignee !== '') {
      if (filter.assignee === '-' ? Boolean(alarm.assignee) : alarm.assignee !== filter.assignee) return false;
    }
    if (filter.overdue !== undefined && (alarm.overdue === true) !== (filter.overdue === 'true')) return false;
    const raisedAt = Date.parse(alarm.raisedAt);
    if (from !== null && raisedAt < from) return false;
    if (to !== null && raisedAt >= to) return false;
    if (words.length > 0) {
      const text = searchText(alarm);
      if (!words.every((word) => text.includes(word))) return false;
    }
    return true;
  });
}

/**
 * A place in the list's order (newest raised first, ties the larger id first), as `GET /api/alarms` gives it in
 * `next`: opaque to clients, the raise time and id of the last alarm of a page.
 */
export const cursorOf = (alarm: Pick<Alarm, 'raisedAt' | 'id'>): string =>
  Buffer.from(JSON.stringify([alarm.raisedAt, alarm.id])).toString('base64url');

/** The raise time and id a cursor names; null for text no page gave. */
export function readCursor(cursor: string): { raisedAt: string; id: string } | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [raisedAt, id] = value as unknown[];
    return typeof raisedAt === 'string' && typeof id === 'string' ? { raisedAt, id } : null;
  } catch {
    return null;
  }
}

/**
 * Where the alarms after a cursor start in a list of the book's order: the first one older than the cursor's (an
 * alarm that left the list meanwhile, resolved or shelved, still has its place; none repeats, none is skipped).
 */
export function startAfter(alarms: readonly Alarm[], cursor: { raisedAt: string; id: string }): number {
  const older = (alarm: Alarm): boolean => newestFirst(alarm, cursor) > 0;
  let low = 0;
  let high = alarms.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (older(alarms[middle] as Alarm)) high = middle;
    else low = middle + 1;
  }
  return low;
}

export const ALARM_CSV_COLUMNS = [
  'id',
  'site',
  'device',
  'profile',
  'rule',
  'severity',
  'state',
  'message',
  'messageZh',
  'value',
  'threshold',
  'unit',
  'raisedAt',
  'clearedAt',
  'deadline',
  'overdue',
  'acknowledgedBy',
  'acknowledgedAt',
  'assignee',
  'resolvedBy',
  'resolvedAt',
  'cause',
  'measures',
  'responsible',
  'attachment',
  'note',
] as const;

const cell = (alarm: Alarm, column: (typeof ALARM_CSV_COLUMNS)[number]): string | number | null => {
  switch (column) {
    case 'state':
      return alarm.resolved ? 'resolved' : alarm.state;
    case 'overdue':
      return alarm.overdue ? 'true' : 'false';
    case 'value':
      return alarm.value === null ? null : typeof alarm.value === 'boolean' ? String(alarm.value) : alarm.value;
    case 'cause':
    case 'measures':
    case 'responsible':
    case 'attachment':
      return alarm.disposal?.[column] ?? null;
    default:
      return (alarm[column] as string | number | null | undefined) ?? null;
  }
};

/** The alarms as CSV: UTF-8 with a byte-order mark (Excel reads Chinese right), a header row, CRLF line ends. */
export function alarmsCsv(alarms: readonly Alarm[]): string {
  const rows = alarms.map((alarm) => ALARM_CSV_COLUMNS.map((column) => csvField(cell(alarm, column))).join(','));
  return `\uFEFF${[ALARM_CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
