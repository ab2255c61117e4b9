// Building the console's DOM from data. Text is only ever set as text (never parsed as HTML).

/** Contract §3: red (1) is the most severe, blue (4) the least; the labels used on Chinese plant signage. */
export const SEVERITIES = {
  red: { rank: 1, label: '红' },
  orange: { rank: 2, label: '橙' },
  yellow: { rank: 3, label: '黄' },
  blue: { rank: 4, label: '蓝' },
};

export const severityRank = (severity) => SEVERITIES[severity]?.rank ?? 9;

/** `h('td', { className: 'x', data: { id } }, 'text', node)`: an element with text and child nodes. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  const { className, data, ...attributes } = props;
  if (className) element.className = className;
  for (const [key, value] of Object.entries(data ?? {})) element.dataset[key] = String(value);
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

const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** An ISO time in the browser's local time zone (the duty officer's wall clock). */
export function localTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : timeFormat.format(date);
}

export function severityBadge(severity) {
  const known = SEVERITIES[severity];
  return h(
    'span',
    { className: `severity sev-${known ? severity : 'unknown'}`, title: known ? `severity ${known.rank} (${severity})` : String(severity) },
    h('span', { className: 'sev-label', lang: 'zh' }, known?.label ?? '?'),
    ' ',
    h('span', { className: 'sev-code' }, severity),
  );
}

/** Red and orange alarms nobody has acknowledged yet keep drawing the eye. */
export const needsAttention = (alarm) => !alarm.acknowledged && severityRank(alarm.severity) <= 2;

export function alarmRow(alarm, { onAcknowledge, onResolve, busy }) {
  const state = alarm.state === 'active' ? 'active' : 'cleared';
  const classes = ['alarm-row', `row-${alarm.severity}`, needsAttention(alarm) ? 'attention' : ''].filter(Boolean).join(' ');
  const ack = alarm.acknowledged
    ? h(
        'span',
        { className: 'acked', title: alarm.acknowledgedAt ? `at ${localTime(alarm.acknowledgedAt)}` : null },
        alarm.acknowledgedBy ?? '✓',
      )
    : h('span', { className: 'not-acked' }, 'not acknowledged');
  const actions = h(
    'td',
    { className: 'actions' },
    alarm.acknowledged ? null : h('button', { type: 'button', className: 'ack', disabled: busy }, 'Acknowledge'),
    h(
      'button',
      {
        type: 'button',
        className: 'resolve',
        disabled: busy,
        title: state === 'active' ? 'can be resolved once the condition has cleared' : null,
      },
      'Resolve',
    ),
  );
  actions.querySelector('.ack')?.addEventListener('click', () => onAcknowledge(alarm));
  actions.querySelector('.resolve').addEventListener('click', () => onResolve(alarm));
  return h(
    'tr',
    { className: classes, data: { alarmId: alarm.id, severity: alarm.severity, state } },
    h('td', {}, severityBadge(alarm.severity)),
    h('td', { className: 'nowrap' }, alarm.site),
    h('td', { className: 'nowrap' }, alarm.device),
    h('td', { className: 'nowrap' }, alarm.rule),
    h('td', { className: 'message' }, alarm.message, alarm.flapping ? h('span', { className: 'tag' }, 'flapping') : null),
    h('td', { className: 'time' }, h('time', { datetime: alarm.raisedAt }, localTime(alarm.raisedAt))),
    h(
      'td',
      {},
      h('span', { className: `state state-${state}` }, state),
      state === 'cleared' && alarm.clearedAt ? h('small', { className: 'time' }, ` ${localTime(alarm.clearedAt)}`) : null,
    ),
    h('td', {}, ack),
    actions,
  );
}

export function deviceRow(device) {
  return h(
    'tr',
    { data: { deviceId: device.id } },
    h('td', {}, device.id, device.name && device.name !== device.id ? h('small', {}, ` ${device.name}`) : null),
    h('td', {}, device.site),
    h('td', {}, device.profile),
    h('td', {}, h('span', { className: device.online ? 'online' : 'offline' }, device.online ? '● online' : '○ offline')),
    h('td', { className: 'time' }, localTime(device.lastSeen)),
  );
}

const EVENT_WORDS = {
  'alarm.raised': 'raised',
  'alarm.escalated': 'escalated',
  'alarm.deescalated': 'de-escalated',
  'alarm.cleared': 'cleared',
  'alarm.acknowledged': 'acknowledged',
  'alarm.resolved': 'resolved',
  'alarm.shelved': 'shelved',
  'alarm.unshelved': 'unshelved',
  'alarm.overdue': 'overdue',
  'alarm.flapping': 'flapping',
  'alarm.unflapped': 'no longer flapping',
};

export function eventLogEntry(event) {
  const alarm = event.data.alarm;
  const word = EVENT_WORDS[event.type] ?? event.type;
  const by = event.type === 'alarm.acknowledged' ? alarm.acknowledgedBy : event.type === 'alarm.resolved' ? alarm.resolvedBy : null;
  return h(
    'li',
    { data: { type: event.type } },
    h('time', { datetime: event.timestamp }, localTime(event.timestamp)),
    ' ',
    severityBadge(alarm.severity),
    ' ',
    h('strong', {}, word),
    by ? ` by ${by}` : '',
    ' ',
    h('span', { className: 'where' }, `${alarm.site} / ${alarm.device} / ${alarm.rule}`),
    ' ',
    h('span', { className: 'message' }, alarm.message),
  );
}

/** A line about the console itself (connection, reloads) in the event log. */
export function noteLogEntry(text) {
  return h('li', { className: 'note' }, h('time', {}, localTime(new Date().toISOString())), ' ', text);
}
