import type { AlarmChase, AlarmEvent, AlarmEventType, Severity } from '../../../../../rules/src/index.js';

export type CardLanguage = 'zh' | 'en';

/** How urgent the message looks: an alarm that needs someone, one that ended or was handled, or news about one. */
export type CardTone = 'alert' | 'calm' | 'info';

/** What a group-robot message says about one alarm event, before a service's markdown dialect shapes it. */
export interface AlarmCard {
  /** One line for the chat list (DingTalk's `title`), e.g. `【红色告警】site-a dc-01 告警产生`. */
  title: string;
  /** `红色告警` / `Red alarm`. */
  severityLabel: string;
  severity: Severity;
  /** `告警产生` / `Raised`. */
  eventLabel: string;
  tone: CardTone;
  /** The alarm's text (`messageZh`, or `message`), made safe for the robots' markdown (no tags, one line). */
  message: string;
  /** Label and value, in the order shown; the value is plain text; the reading's value is emphasised. */
  fields: Array<{ label: string; value: string; emphasis?: boolean }>;
  /** The alarm in the console, when `consoleUrl` is set. */
  link: { text: string; url: string } | null;
}

export interface CardOptions {
  language: CardLanguage;
  /** The console's base address; the card links to `{consoleUrl}/#/alarms/{id}`. */
  consoleUrl?: string | undefined;
}

/** The time zone every card shows times in (China Standard Time, no daylight saving). */
export const CARD_TIME_ZONE = 'Asia/Shanghai';

const SEVERITY_LABEL: Record<CardLanguage, Record<Severity, string>> = {
  zh: { red: '红色告警', orange: '橙色告警', yellow: '黄色告警', blue: '蓝色告警' },
  en: { red: 'Red alarm', orange: 'Orange alarm', yellow: 'Yellow alarm', blue: 'Blue alarm' },
};

/**
 * The bracket of an alarm that ended (cleared, resolved): "【红色告警】… 告警解除" read in a chat list as a red alarm —
 * the severity is said as what it was.
 */
const ENDED_LABEL: Record<CardLanguage, (severity: string) => string> = {
  zh: (severity) => `已解除·原${severity}`,
  en: (severity) => `Ended · was ${severity}`,
};
const ENDED: ReadonlySet<AlarmEventType> = new Set(['alarm.cleared', 'alarm.resolved']);

const SEVERITY_NAME: Record<CardLanguage, Record<Severity, string>> = {
  zh: { red: '红色', orange: '橙色', yellow: '黄色', blue: '蓝色' },
  en: { red: 'red', orange: 'orange', yellow: 'yellow', blue: 'blue' },
};

const EVENT_LABEL: Record<CardLanguage, Record<AlarmEventType, string>> = {
  zh: {
    'alarm.raised': '告警产生',
    'alarm.escalated': '告警升级',
    'alarm.deescalated': '告警降级',
    'alarm.cleared': '告警解除',
    'alarm.acknowledged': '告警已确认',
    'alarm.resolved': '告警已处置',
    'alarm.shelved': '告警已搁置',
    'alarm.unshelved': '告警取消搁置',
    'alarm.overdue': '处置超时',
    'alarm.flapping': '告警频繁跳变',
    'alarm.unflapped': '告警跳变结束',
    'alarm.assigned': '告警已分派',
    'alarm.chased': '告警催办',
  },
  en: {
    'alarm.raised': 'Raised',
    'alarm.escalated': 'Escalated',
    'alarm.deescalated': 'De-escalated',
    'alarm.cleared': 'Cleared',
    'alarm.acknowledged': 'Acknowledged',
    'alarm.resolved': 'Resolved',
    'alarm.shelved': 'Shelved',
    'alarm.unshelved': 'Unshelved',
    'alarm.overdue': 'Overdue',
    'alarm.flapping': 'Flapping',
    'alarm.unflapped': 'No longer flapping',
    'alarm.assigned': 'Assigned',
    'alarm.chased': 'Chased: nobody acted in time',
  },
};

const LABELS = {
  zh: {
    site: '站点',
    device: '设备',
    value: '数值',
    threshold: '阈值',
    rule: '规则',
    change: '级别变化',
    by: '操作人',
    note: '说明',
    time: '时间',
    alarm: '告警编号',
    link: '查看告警详情',
    zone: '（北京时间）',
    yes: '是',
    no: '否',
    chase: '催办',
    assignee: '分派给',
    cause: '原因',
    measures: '处置措施',
    responsible: '责任人',
    shelfReason: '搁置原因',
    until: '搁置至',
    deadline: '处置时限',
    late: (minutes: number) => `（已超时 ${minutes} 分钟）`,
  },
  en: {
    site: 'Site',
    device: 'Device',
    value: 'Value',
    threshold: 'Threshold',
    rule: 'Rule',
    change: 'Severity',
    by: 'By',
    note: 'Note',
    time: 'Time',
    alarm: 'Alarm',
    link: 'View the alarm',
    zone: ' (China Standard Time)',
    yes: 'yes',
    no: 'no',
    chase: 'Chase',
    assignee: 'Assigned to',
    cause: 'Cause',
    measures: 'Measures',
    responsible: 'Responsible',
    shelfReason: 'Shelved because',
    until: 'Shelved until',
    deadline: 'Due by',
    late: (minutes: number) => ` (${minutes} min late)`,
  },
} as const;

const TONE: Record<AlarmEventType, CardTone> = {
  'alarm.raised': 'alert',
  'alarm.escalated': 'alert',
  'alarm.overdue': 'alert',
  'alarm.chased': 'alert',
  'alarm.unshelved': 'alert',
  'alarm.deescalated': 'info',
  'alarm.acknowledged': 'info',
  'alarm.shelved': 'info',
  'alarm.flapping': 'info',
  'alarm.unflapped': 'info',
  'alarm.assigned': 'info',
  'alarm.cleared': 'calm',
  'alarm.resolved': 'calm',
};

const CHASE_CONDITION: Record<CardLanguage, Record<AlarmChase['condition'], string>> = {
  zh: { not_acknowledged: '无人确认', not_assigned: '未分派', not_resolved: '未处置', overdue: '处置超时' },
  en: { not_acknowledged: 'not acknowledged', not_assigned: 'not assigned', not_resolved: 'not resolved', overdue: 'overdue' },
};

/** `第 2 步（red-unacked）：无人确认；通知 张伟；分派给 李娜` — which escalation step fired, why, the users it names, whom it assigned. */
function chaseText(chase: AlarmChase, language: CardLanguage): string {
  const why = CHASE_CONDITION[language][chase.condition];
  const users = chase.notify.users.map((user) => plainText(user, 100));
  const assignee = chase.assignee === undefined ? null : plainText(chase.assignee, 100);
  if (language === 'zh')
    return `第 ${chase.step} 步（${plainText(chase.policy, 100)}）：${why}${users.length > 0 ? `；通知 ${users.join('、')}` : ''}${assignee ? `；分派给 ${assignee}` : ''}`;
  return `step ${chase.step} of ${plainText(chase.policy, 100)}: ${why}${users.length > 0 ? `; notifies ${users.join(', ')}` : ''}${assignee ? `; assigned to ${assignee}` : ''}`;
}

/** The longest the alarm's text or a note may be on a card (bytes of UTF-8); the rest is cut with `…`. */
const MAX_TEXT_BYTES = 1_500;

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: CARD_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** `2026-11-22 16:00:03` for `2026-11-22T08:00:03.120Z`: the instant on the clock in Asia/Shanghai. */
export function shanghaiTime(iso: string): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const part = Object.fromEntries(timeFormat.formatToParts(at).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
}

/** `text` cut to at most `maxBytes` of UTF-8 at a character boundary, `…` marking the cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const room = maxBytes - Buffer.byteLength('…', 'utf8');
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (used + size > room) break;
    out += char;
    used += size;
  }
  return `${out}…`;
}

/**
 * Text from an alarm made safe for the robots' markdown: one line, and no `<`/`>` (a message must not open a
 * `<font>` or mention someone with `<@userid>`); markdown's link and emphasis characters are shown full-width.
 */
export function plainText(text: string, maxBytes = MAX_TEXT_BYTES): string {
  const flat = text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/</g, '＜')
    .replace(/>/g, '＞')
    .replace(/\[/g, '［')
    .replace(/]/g, '］')
    .replace(/\*/g, '＊')
    .replace(/`/g, '｀')
    .trim();
  return truncateUtf8(flat, maxBytes);
}

const numberText = (value: number): string =>
  Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(Number(value.toPrecision(6)));

/** Units that are English words (a group's count of points, a spark counter's): in Chinese, their measure word. */
const UNIT_WORDS_ZH: Readonly<Record<string, string>> = { points: '个测点', sparks: '个' };

function valueText(value: number | boolean | string, unit: string | null, language: CardLanguage): string {
  const shown =
    typeof value === 'number'
      ? numberText(value)
      : typeof value === 'boolean'
        ? LABELS[language][value ? 'yes' : 'no']
        : plainText(value, 200);
  if (!unit) return shown;
  const word = language === 'zh' && Object.hasOwn(UNIT_WORDS_ZH, unit) ? UNIT_WORDS_ZH[unit] : undefined;
  return word ? `${shown} ${word}` : `${shown} ${plainText(unit, 40)}`;
}

/** The alarm's page in the console: `{consoleUrl}/#/alarms/{id}` (a trailing `/` on the base is dropped). */
export function alarmLink(consoleUrl: string, alarmId: string): string {
  return `${consoleUrl.replace(/\/+$/, '')}/#/alarms/${encodeURIComponent(alarmId)}`;
}

/**
 * The card for one alarm event: severity, what happened, the alarm's text, site, device, value and threshold with
 * their unit, the rule, who acted (acknowledged, resolved), the time in Asia/Shanghai and the link to the alarm.
 * A pure function of the event and the options: the same event always gives the same card.
 */
export function alarmCard(event: AlarmEvent, options: CardOptions): AlarmCard {
  const { language } = options;
  const { alarm } = event.data;
  const label = LABELS[language];
  const severityLabel = ENDED.has(event.type)
    ? ENDED_LABEL[language](SEVERITY_NAME[language][alarm.severity])
    : SEVERITY_LABEL[language][alarm.severity];
  const eventLabel = EVENT_LABEL[language][event.type] ?? event.type;
  const text = language === 'zh' ? (alarm.messageZh ?? alarm.message) : alarm.message;

  const fields: AlarmCard['fields'] = [
    { label: label.site, value: alarm.site },
    { label: label.device, value: alarm.device },
  ];
  if (alarm.value !== null) fields.push({ label: label.value, value: valueText(alarm.value, alarm.unit, language), emphasis: true });
  if (alarm.threshold !== null) fields.push({ label: label.threshold, value: valueText(alarm.threshold, alarm.unit, language) });
  fields.push({ label: label.rule, value: plainText(alarm.rule, 200) });
  if ((event.type === 'alarm.escalated' || event.type === 'alarm.deescalated') && alarm.previousSeverity) {
    const names = SEVERITY_NAME[language];
    fields.push({ label: label.change, value: `${names[alarm.previousSeverity]} → ${names[alarm.severity]}` });
  }
  fields.push(...peopleFields(event, language));
  if (event.type === 'alarm.chased' && alarm.chase) fields.push({ label: label.chase, value: chaseText(alarm.chase, language) });
  fields.push({ label: label.time, value: `${shanghaiTime(event.timestamp)}${label.zone}` });
  fields.push({ label: label.alarm, value: alarm.id });

  return {
    title: `【${severityLabel}】${alarm.site} ${alarm.device} ${eventLabel}`,
    severityLabel,
    severity: alarm.severity,
    eventLabel,
    tone: TONE[event.type] ?? 'info',
    message: plainText(text),
    fields,
    link: options.consoleUrl ? { text: label.link, url: alarmLink(options.consoleUrl, alarm.id) } : null,
  };
}

/**
 * What people did, as the event says it: who acknowledged and their note (what they are doing about it), whom it was
 * assigned to, who resolved it with the disposal record (cause, measures, responsible) and note, who shelved it, why
 * and until when. A duty group reads these to know the alarm is in hand.
 */
/** How late the event comes after the deadline, in whole minutes ("（已超时 5 分钟）"); nothing under a minute. */
function lateness(event: AlarmEvent, deadline: string, language: CardLanguage): string {
  const minutes = Math.floor((Date.parse(event.timestamp) - Date.parse(deadline)) / 60_000);
  return Number.isFinite(minutes) && minutes >= 1 ? LABELS[language].late(minutes) : '';
}

function peopleFields(event: AlarmEvent, language: CardLanguage): AlarmCard['fields'] {
  const { alarm } = event.data;
  const label = LABELS[language];
  const fields: AlarmCard['fields'] = [];
  const field = (name: Exclude<keyof typeof label, 'late'>, value: string | null | undefined, maxBytes?: number): void => {
    if (value) fields.push({ label: label[name], value: plainText(value, maxBytes) });
  };
  switch (event.type) {
    case 'alarm.acknowledged':
      field('by', alarm.acknowledgedBy, 200);
      field('note', alarm.note);
      break;
    case 'alarm.assigned':
      field('assignee', alarm.assignee, 200);
      break;
    case 'alarm.resolved':
      field('by', alarm.resolvedBy, 200);
      field('cause', alarm.disposal?.cause);
      field('measures', alarm.disposal?.measures);
      field('responsible', alarm.disposal?.responsible, 200);
      field('note', alarm.note);
      break;
    case 'alarm.overdue':
    case 'alarm.chased':
      // whose it is and by when it was due: what a dispatcher chasing it needs on the card
      field('assignee', alarm.assignee, 200);
      if (alarm.deadline)
        fields.push({
          label: label.deadline,
          value: `${shanghaiTime(alarm.deadline)}${label.zone}${lateness(event, alarm.deadline, language)}`,
        });
      break;
    case 'alarm.shelved':
    case 'alarm.unshelved':
      field('by', alarm.shelved?.by, 200);
      field('shelfReason', alarm.shelved?.reason);
      if (alarm.shelved?.until) fields.push({ label: label.until, value: `${shanghaiTime(alarm.shelved.until)}${label.zone}` });
      break;
    default:
      break;
  }
  return fields;
}
