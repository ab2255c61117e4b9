// Building the console's DOM from data. Text is only ever set as text (never parsed as HTML).
import { alarmMessage, duration, eventWord, lang, t } from './i18n.js';

/** Contract §3: red (1) is the most severe, blue (4) the least. */
export const SEVERITIES = { red: 1, orange: 2, yellow: 3, blue: 4 };
export const severityRank = (severity) => SEVERITIES[severity] ?? 9;

/** Roles in order: each may do what the ones before it may. */
const ROLES = ['viewer', 'operator', 'dispatcher', 'admin'];
/** The least role of each action (route-access.ts of the gateway says the same). */
const ACTION_ROLE = {
  ack: 'operator',
  resolve: 'operator',
  assign: 'dispatcher',
  shelve: 'operator',
  shelveRed: 'dispatcher',
  unshelve: 'operator',
  maintenance: 'operator', // declare and end a device's or site's maintenance window (POST /api/shelves…)
};
export const may = (role, action) => ROLES.indexOf(role) >= ROLES.indexOf(ACTION_ROLE[action] ?? 'admin');

/** `h('td', { className: 'x', data: { id } }, 'text', node)`: an element with text and child nodes. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  const { className, data, on, ...attributes } = props;
  if (className) element.className = className;
  for (const [key, value] of Object.entries(data ?? {})) element.dataset[key] = String(value);
  for (const [key, value] of Object.entries(on ?? {})) element.addEventListener(key, value);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Dates are written as the chosen language writes them (not as the browser's locale would): 2026/11/22 or 22/11/2026. */
const LOCALES = { zh: 'zh-CN', en: 'en-GB' };
const timeFormats = new Map();
const timeFormat = () => {
  const locale = LOCALES[lang()] ?? LOCALES.zh;
  if (!timeFormats.has(locale)) {
    const options = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' };
    timeFormats.set(locale, new Intl.DateTimeFormat(locale, { ...options, hourCycle: 'h23' }));
  }
  return timeFormats.get(locale);
};

/** An ISO time in the browser's local time zone (the duty officer's wall clock). */
export function localTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : timeFormat().format(date);
}

export function severityBadge(severity) {
  const known = severity in SEVERITIES;
  return h(
    'span',
    {
      className: `severity sev-${known ? severity : 'unknown'}`,
      title: known ? `${severity} (${SEVERITIES[severity]})` : String(severity),
    },
    // Chinese plant signage says 红/橙/黄/蓝; the code follows, unless the label is the code already (English).
    known && t(`sev.${severity}`) === severity ? null : [h('span', { className: 'sev-label' }, known ? t(`sev.${severity}`) : '?'), ' '],
    h('span', { className: 'sev-code' }, severity),
  );
}

/** Red and orange alarms nobody has acknowledged yet keep drawing the eye. */
export const needsAttention = (alarm) => !alarm.acknowledged && !alarm.resolved && severityRank(alarm.severity) <= 2;

export const stateOf = (alarm) => (alarm.resolved ? 'resolved' : alarm.state === 'active' ? 'active' : 'cleared');

/** When the gateway raised it: the arrival of a late reading (`reportedAt`, a backlog), else the reading's time. */
export const raisedByGateway = (alarm) => Date.parse(alarm.reportedAt ?? alarm.raisedAt);

/**
 * A reading that arrived this much after its time is said to have come late. The gateway marks (`reportedAt`) any
 * reading over a minute late; a few minutes do not mislead anyone about an alarm's age, a backlog's hours do.
 */
const LATE_SHOWN_MS = 5 * 60_000;

/** How long after its reading the gateway received what raised the alarm, if late enough to say (ms); else null. */
export function lateness(alarm) {
  const late = alarm.reportedAt ? Date.parse(alarm.reportedAt) - Date.parse(alarm.raisedAt) : 0;
  return late >= LATE_SHOWN_MS ? late : null;
}

/** `received late at …` for an alarm raised from a late reading (it looks old; its deadline counts from then); or null. */
export function receivedLate(alarm) {
  if (lateness(alarm) === null) return null;
  return h(
    'small',
    { className: 'received-late', title: t('time.receivedLateWhy') },
    t('time.receivedLate', { at: localTime(alarm.reportedAt) }),
  );
}

const sinceText = (since, now) => t('time.ago', { d: duration(now - Date.parse(since)) });

/** Time since it was raised (kept up to date by `refreshTimes`). */
export const sinceRaised = (alarm, now) =>
  h('small', { className: 'since', data: { since: alarm.raisedAt } }, sinceText(alarm.raisedAt, now));

/** The deadline's words and colour at `now`: time left, or how long overdue. */
function showDeadline(element, now) {
  const left = Date.parse(element.dataset.deadline) - now;
  const overdue = element.dataset.overdue === 'true' || left <= 0;
  element.className = overdue ? 'deadline overdue' : 'deadline';
  element.textContent = overdue ? t('time.overdue', { d: duration(-left) }) : t('time.left', { d: duration(left) });
}

/** Time to the same-day deadline, or how long past it (overdue is highlighted; kept up to date by `refreshTimes`). */
export function deadlineCell(alarm, now) {
  if (alarm.resolved || !alarm.deadline) return h('span', { className: 'muted' }, t('time.noDeadline'));
  const element = h('span', { title: localTime(alarm.deadline), data: { deadline: alarm.deadline, overdue: Boolean(alarm.overdue) } });
  showDeadline(element, now);
  return element;
}

/**
 * Brings the times under `root` to `now` where they stand (time since raised, time to the deadline): the clock's
 * tick changes these words only, and rebuilding everything for them took the keyboard focus away every 15 s.
 */
export function refreshTimes(root, now) {
  for (const element of root.querySelectorAll('[data-since]')) element.textContent = sinceText(element.dataset.since, now);
  for (const element of root.querySelectorAll('[data-deadline]')) showDeadline(element, now);
}

/**
 * The action buttons the role allows for this alarm (none for a viewer, none on a closed alarm); with `shelving`
 * (the alarm's page) also shelve or unshelve: a red alarm is shelved only by a dispatcher.
 */
export function actionButtons(alarm, role, { onAction, busy, shelving = false }) {
  if (alarm.resolved) return [];
  const actions = [];
  if (!alarm.acknowledged && may(role, 'ack')) actions.push('ack');
  if (may(role, 'assign')) actions.push('assign');
  if (may(role, 'resolve')) actions.push('resolve');
  if (shelving && !alarm.shelved && may(role, alarm.severity === 'red' ? 'shelveRed' : 'shelve')) actions.push('shelve');
  if (shelving && alarm.shelved?.scope === 'alarm' && may(role, 'unshelve')) actions.push('unshelve');
  return actions.map((action) =>
    h(
      'button',
      {
        type: 'button',
        className: `action-${action}`,
        data: { control: action },
        disabled: busy,
        title: action === 'resolve' && alarm.state === 'active' ? t('err.alarm_still_active') : null,
        on: { click: () => onAction(action, alarm) },
      },
      t(`action.${action}`),
    ),
  );
}

/**
 * One alarm's row. `check`: `{ checked, onToggle }` puts a check box first (the open list, for acting on the checked
 * alarms together).
 */
export function alarmRow(alarm, { role, now, onAction, busy, history = false, check = null }) {
  const state = stateOf(alarm);
  const classes = ['alarm-row', `row-${alarm.severity}`, needsAttention(alarm) ? 'attention' : '', alarm.overdue ? 'is-overdue' : '']
    .filter(Boolean)
    .join(' ');
  const link = h(
    'a',
    { href: `#/alarms/${encodeURIComponent(alarm.id)}`, className: 'alarm-link', data: { control: 'alarm' } },
    alarmMessage(alarm),
  );
  const late = history ? null : receivedLate(alarm);
  return h(
    'tr',
    { className: classes, data: { alarmId: alarm.id, severity: alarm.severity, state } },
    check ? h('td', { className: 'check' }, checkBox(check.checked, t('bulk.select'), check.onToggle)) : null,
    h('td', {}, severityBadge(alarm.severity)),
    h('td', { className: 'nowrap' }, alarm.site),
    h(
      'td',
      { className: 'nowrap' },
      h('a', { href: `#/devices/${encodeURIComponent(alarm.device)}`, data: { control: 'device' } }, alarm.device),
    ),
    // col-…: the columns a tablet leaves out are named, not counted (a check box column comes first for some roles)
    h('td', { className: 'nowrap rule col-rule' }, alarm.rule),
    h(
      'td',
      { className: 'message' },
      link,
      alarm.flapping ? h('span', { className: 'tag' }, eventWord('alarm.flapping')) : null,
      alarm.shelved ? h('span', { className: 'tag shelved' }, eventWord('alarm.shelved')) : null,
    ),
    h(
      'td',
      { className: 'time' },
      h('time', { datetime: alarm.raisedAt }, localTime(alarm.raisedAt)),
      late ? [h('br'), late] : null,
      history ? null : h('br'),
      history ? null : sinceRaised(alarm, now),
    ),
    history
      ? h('td', { className: 'time' }, localTime(alarm.resolvedAt), h('br'), h('small', {}, alarm.resolvedBy ?? ''))
      : h('td', { className: 'nowrap' }, deadlineCell(alarm, now)),
    h('td', {}, h('span', { className: `state state-${state}` }, t(`state.${state}`))),
    h(
      'td',
      { className: 'col-acknowledged' },
      alarm.acknowledged
        ? h('span', { className: 'acked' }, alarm.acknowledgedBy ?? '✓')
        : h('span', { className: 'not-acked' }, t('ack.none')),
    ),
    h('td', {}, alarm.assignee ? alarm.assignee : h('span', { className: 'muted' }, t('assignee.none'))),
    history ? null : h('td', { className: 'actions' }, actionButtons(alarm, role, { onAction, busy })),
  );
}

/** A check box with its label for screen readers; `onToggle(checked)`. */
export function checkBox(checked, label, onToggle) {
  const box = h('input', {
    type: 'checkbox',
    'aria-label': label,
    title: label,
    data: { control: 'check' },
    on: { change: () => onToggle(box.checked) },
  });
  box.checked = checked;
  return box;
}

/** A device's last values with their units (units from its open alarms when known: the API lists values only). */
export function valueList(values, units = {}) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return h('span', { className: 'muted' }, '—');
  return h(
    'span',
    { className: 'values' },
    entries.map(([metric, value]) =>
      h(
        'span',
        { className: 'value', data: { metric } },
        h('span', { className: 'metric' }, metric),
        ' ',
        formatValue(value, units[metric]),
      ),
    ),
  );
}

export const formatValue = (value, unit) =>
  value === null || value === undefined
    ? '—'
    : `${typeof value === 'number' ? Number(value.toFixed(3)) : String(value)}${unit ? ` ${unit}` : ''}`;

export function onlineBadge(device) {
  return h(
    'span',
    { className: device.online ? 'online' : 'offline' },
    device.online ? `● ${t('devices.online')}` : `○ ${t('devices.silent')}`,
  );
}

export function eventLogEntry(event) {
  const alarm = event.data.alarm;
  const by = event.type === 'alarm.acknowledged' ? alarm.acknowledgedBy : event.type === 'alarm.resolved' ? alarm.resolvedBy : null;
  return h(
    'li',
    { data: { type: event.type } },
    h('time', { datetime: event.timestamp }, localTime(event.timestamp)),
    ' ',
    severityBadge(alarm.severity),
    ' ',
    h('strong', {}, eventWord(event.type)),
    by ? ` ${t('history.by', { who: by })}` : '',
    ' ',
    h('a', { className: 'where', href: `#/alarms/${encodeURIComponent(alarm.id)}` }, `${alarm.site} / ${alarm.device} / ${alarm.rule}`),
    ' ',
    h('span', { className: 'message' }, alarmMessage(alarm)),
  );
}

/** A line about the console itself (connection, reloads) in the event log. */
export function noteLogEntry(text) {
  return h('li', { className: 'note' }, h('time', {}, localTime(new Date().toISOString())), ' ', text);
}
