// One alarm (`#/alarms/{id}`, the link in the WeCom and DingTalk messages): what, where, its full history, the trend
// of its metric around it (from InfluxDB), and the actions the user's role allows. Fetched again whenever it may have
// changed unseen (an event of it, the feed back or gapped, an action refused as stale), so that what is acted on is
// what is shown.
import { alarmMessage, duration, errorMeaning, eventWord, t } from './i18n.js';
import { focusKeeper } from './keep-focus.js';
import { trendChart } from './trend-chart.js';
import {
  actionButtons,
  deadlineCell,
  formatValue,
  h,
  lateness,
  localTime,
  refreshTimes,
  severityBadge,
  sinceRaised,
  stateOf,
} from './views.js';

const HOUR = 3_600_000;

function historyEntry(step) {
  const details = [];
  if (step.by) details.push(t('history.by', { who: step.by }));
  if (step.assignee) details.push(t('history.to', { who: step.assignee }));
  return h(
    'li',
    { data: { type: step.type } },
    h('time', { datetime: step.at }, localTime(step.at)),
    ' ',
    severityBadge(step.severity ?? 'unknown'),
    ' ',
    h('strong', { className: 'history-type' }, eventWord(step.type)),
    details.length > 0 ? ` ${details.join(' · ')}` : '',
    step.note ? h('q', { className: 'history-note' }, step.note) : null,
    step.held ? h('span', { className: 'tag held' }, t('history.held')) : null,
    step.disposal ? disposalBlock(step.disposal) : null,
  );
}

function disposalBlock(disposal) {
  const row = (key, value) => (value ? [h('dt', {}, t(key)), h('dd', {}, value)] : []);
  return h(
    'dl',
    { className: 'disposal' },
    row('form.cause', disposal.cause),
    row('form.measures', disposal.measures),
    row('form.responsible', disposal.responsible),
    disposal.attachment
      ? [
          // a link only for http(s): a record from before the API refused other schemes shows as text
          h('dt', {}, t('form.attachment')),
          h(
            'dd',
            {},
            /^https?:\/\//i.test(disposal.attachment)
              ? h('a', { href: disposal.attachment, rel: 'noopener noreferrer', target: '_blank' }, disposal.attachment)
              : disposal.attachment,
          ),
        ]
      : [],
  );
}

/** The trend of the alarm's metric: an hour before it was raised until it cleared (or now), plus a quarter hour. */
async function loadTrend(ctx, alarm, target) {
  if (!alarm.metric) return target.replaceChildren();
  const raised = Date.parse(alarm.raisedAt);
  const endOf = alarm.clearedAt ? Date.parse(alarm.clearedAt) + HOUR / 4 : Date.now();
  const from = raised - HOUR;
  const to = Math.min(Date.now(), Math.max(endOf, raised + HOUR / 4));
  try {
    const trend = await ctx.client.trend(alarm.device, {
      metric: alarm.metric,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    });
    target.replaceChildren(
      trendChart(trend.points, {
        threshold: alarm.threshold,
        unit: alarm.unit,
        markAt: raised,
        from,
        to,
        label: `${alarm.device} ${alarm.metric}`,
      }),
    );
  } catch (error) {
    target.replaceChildren(
      h('p', { className: 'trend-unavailable', data: { code: error.code } }, t('trend.unavailable', { meaning: errorMeaning(error) })),
    );
  }
}

export function mountAlarmDetail(container, ctx, id) {
  let current = null;
  let history = [];
  const trend = h('div', { className: 'trend-box', id: 'alarm-trend' });
  let trendFor = null;
  const keepFocus = focusKeeper(container);
  /** Whether its buttons were drawn busy: the only change of the console's that this page shows without a fetch. */
  let drawnBusy = false;

  const render = () => {
    if (!current) return;
    keepFocus(draw);
  };

  const draw = () => {
    const alarm = current;
    const now = Date.now();
    drawnBusy = ctx.busy(alarm.id);
    const field = (key, ...value) => [h('dt', {}, t(key)), h('dd', { data: { field: key.split('.')[1] } }, ...value)];
    const state = stateOf(alarm);
    container.replaceChildren(
      h(
        'section',
        { className: `card alarm-detail row-${alarm.severity}`, data: { alarmId: alarm.id, severity: alarm.severity, state } },
        h('p', {}, h('a', { href: '#/alarms', data: { control: 'back' } }, `← ${t('detail.back')}`)),
        h(
          'h2',
          { id: 'detail-title' },
          severityBadge(alarm.severity),
          ' ',
          h('span', { className: 'detail-message' }, alarmMessage(alarm)),
        ),
        h(
          'p',
          { className: 'where' },
          `${alarm.site} / `,
          h('a', { href: `#/devices/${encodeURIComponent(alarm.device)}`, data: { control: 'device' } }, alarm.device),
          ` / ${alarm.rule}`,
        ),
        h(
          'div',
          { className: 'actions detail-actions' },
          actionButtons(alarm, ctx.user.role, { onAction: ctx.act, busy: drawnBusy, shelving: true }),
        ),
        h(
          'dl',
          { className: 'facts' },
          field('detail.value', formatValue(alarm.value, alarm.unit)),
          field('detail.threshold', formatValue(alarm.threshold, alarm.unit)),
          field('detail.metric', alarm.metric ?? '—'),
          field('detail.rule', alarm.rule),
          field('detail.source', alarm.source),
          field('detail.state', h('span', { className: `state state-${state}` }, t(`state.${state}`))),
          field('detail.raised', localTime(alarm.raisedAt), ' ', sinceRaised(alarm, now)),
          // a backlog's alarm: received (and raised by the gateway, its deadline counting) this long after its reading
          lateness(alarm) === null
            ? null
            : field(
                'detail.reported',
                localTime(alarm.reportedAt),
                ' ',
                h('small', { className: 'received-late' }, t('time.lateBy', { d: duration(lateness(alarm)) })),
              ),
          field('detail.cleared', localTime(alarm.clearedAt)),
          field('detail.deadline', alarm.deadline ? `${localTime(alarm.deadline)} ` : '', deadlineCell(alarm, now)),
          field(
            'detail.acknowledged',
            alarm.acknowledged ? `${alarm.acknowledgedBy ?? ''} ${localTime(alarm.acknowledgedAt)}` : t('ack.none'),
          ),
          field('detail.assignee', alarm.assignee ?? t('assignee.none')),
          field('detail.occurrences', String(alarm.occurrences)),
          alarm.shelved
            ? field(
                'detail.shelved',
                t('detail.shelvedInfo', { reason: alarm.shelved.reason, who: alarm.shelved.by, until: localTime(alarm.shelved.until) }),
              )
            : null,
        ),
        alarm.disposal ? h('div', {}, h('h3', {}, t('detail.disposal')), disposalBlock(alarm.disposal)) : null,
        h('h3', {}, t('detail.trend'), alarm.metric ? ` · ${alarm.metric}` : ''),
        trend,
        h('h3', {}, t('detail.history')),
        h('ol', { className: 'history', id: 'alarm-history' }, history.map(historyEntry)),
      ),
    );
    const key = `${alarm.id}:${alarm.clearedAt ?? ''}`;
    if (trendFor !== key) {
      trendFor = key;
      loadTrend(ctx, alarm, trend);
    }
  };

  let loading = 0;
  const load = async () => {
    const mine = ++loading;
    try {
      const answer = await ctx.client.alarm(id);
      if (mine !== loading) return; // a later fetch is on its way: the older answer must not overwrite it
      current = answer.alarm;
      history = answer.history;
      render();
    } catch (error) {
      if (mine !== loading) return;
      if (error.code === 'alarm_not_found') {
        current = null;
        container.replaceChildren(h('section', { className: 'card' }, h('p', { className: 'empty' }, t('detail.notFound'))));
      } else ctx.refused(error, t('detail.history'));
    }
  };
  container.replaceChildren(h('section', { className: 'card' }, h('p', { className: 'muted' }, '…')));
  load();
  return {
    // the console changed (any alarm's event, an answer): only the busy state of this one's buttons shows here
    update: () => {
      if (current && ctx.busy(current.id) !== drawnBusy) render();
    },
    tick: () => refreshTimes(container, Date.now()),
    onAlarm: (alarm) => {
      if (alarm.id === id) load();
    },
    // the feed reconnected or said it missed events, or an action was refused as stale (404, 409): fetched again
    resync: () => load(),
  };
}
