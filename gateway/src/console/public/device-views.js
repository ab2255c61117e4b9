// The device board (every device: online or silent, last values with units, its open alarms) and one device's page
// (`#/devices/{id}`: the same, its alarms, a trend of a metric from InfluxDB, and for an operator or above a shortcut
// to declare a maintenance window for it).
import { alarmMessage, errorMeaning, t } from './i18n.js';
import { trendChart } from './trend-chart.js';
import { h, localTime, may, onlineBadge, severityBadge, severityRank, valueList } from './views.js';

const TREND_MS = 6 * 3_600_000;

const openAlarmsOf = (ctx, id) =>
  ctx
    .openAlarms()
    .filter((alarm) => alarm.device === id)
    .sort((a, b) => severityRank(a.severity) - severityRank(b.severity) || Date.parse(b.raisedAt) - Date.parse(a.raisedAt));

const alarmChips = (alarms) =>
  alarms.map((alarm) =>
    h(
      'a',
      { className: `chip sev-${alarm.severity}`, href: `#/alarms/${encodeURIComponent(alarm.id)}`, title: alarmMessage(alarm) },
      `${t(`sev.${alarm.severity}`)} ${alarm.rule}`,
    ),
  );

export function mountDeviceBoard(container, ctx) {
  const rows = h('tbody', { id: 'device-rows' });
  const count = h('span', { className: 'count', id: 'device-count' });
  const head = ['col.device', 'col.site', 'col.profile', 'col.status', 'col.lastSeen', 'col.values', 'col.alarms'];
  container.replaceChildren(
    h(
      'section',
      { className: 'devices card' },
      h('div', { className: 'section-head' }, h('h2', {}, t('devices.title'), ' ', count)),
      h(
        'div',
        { className: 'table-wrap' },
        h(
          'table',
          { className: 'device-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              head.map((key) => h('th', { scope: 'col' }, t(key))),
            ),
          ),
          rows,
        ),
      ),
    ),
  );
  const update = () => {
    const devices = [...ctx.devices()].sort((a, b) => a.site.localeCompare(b.site) || a.id.localeCompare(b.id));
    count.textContent = t('devices.onlineCount', { online: devices.filter((d) => d.online).length, total: devices.length });
    rows.replaceChildren(
      ...devices.map((device) =>
        h(
          'tr',
          { data: { deviceId: device.id, online: device.online } },
          h(
            'td',
            {},
            h('a', { href: `#/devices/${encodeURIComponent(device.id)}` }, device.id),
            device.name && device.name !== device.id ? h('small', {}, ` ${device.name}`) : null,
          ),
          h('td', {}, device.site),
          h('td', {}, device.profile),
          h('td', {}, onlineBadge(device)),
          h('td', { className: 'time' }, localTime(device.lastSeen)),
          h('td', {}, valueList(device.lastValues, device.units)),
          h('td', {}, alarmChips(openAlarmsOf(ctx, device.id))),
        ),
      ),
    );
  };
  update();
  return { update, devicesChanged: update };
}

export function mountDeviceDetail(container, ctx, id) {
  let metric = null;
  const trend = h('div', { className: 'trend-box', id: 'device-trend' });
  const body = h('div', {});
  container.replaceChildren(
    h(
      'section',
      { className: 'card device-detail', data: { deviceId: id } },
      h('p', {}, h('a', { href: '#/devices' }, `← ${t('devices.back')}`)),
      body,
      h('h3', {}, t('detail.trend')),
      trend,
    ),
  );

  const loadTrend = async () => {
    if (!metric) return trend.replaceChildren(h('p', { className: 'empty' }, t('trend.none')));
    const to = Date.now();
    const from = to - TREND_MS;
    const device = ctx.devices().find((d) => d.id === id);
    try {
      const answer = await ctx.client.trend(id, { metric, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
      trend.replaceChildren(trendChart(answer.points, { unit: device?.units?.[metric] ?? null, from, to, label: `${id} ${metric}` }));
    } catch (error) {
      trend.replaceChildren(
        h('p', { className: 'trend-unavailable', data: { code: error.code } }, t('trend.unavailable', { meaning: errorMeaning(error) })),
      );
    }
  };

  const pick = (name) => {
    metric = name;
    loadTrend();
  };

  const update = () => {
    const device = ctx.devices().find((d) => d.id === id);
    if (!device) {
      body.replaceChildren(h('p', { className: 'empty' }, ctx.devices().length === 0 ? '…' : t('devices.notFound')));
      return;
    }
    const numeric = Object.entries(device.lastValues)
      .filter(([, v]) => typeof v === 'number')
      .map(([name]) => name);
    const first = metric === null;
    if (first) metric = numeric[0] ?? Object.keys(device.units ?? {})[0] ?? null;
    const picker = h(
      'select',
      { id: 'trend-metric', on: { change: () => pick(picker.value) } },
      [...new Set([...numeric, ...Object.keys(device.units ?? {})])].map((name) => h('option', { value: name }, name)),
    );
    if (metric) picker.value = metric;
    const alarms = openAlarmsOf(ctx, id);
    body.replaceChildren(
      h('h2', {}, device.id, device.name && device.name !== device.id ? ` · ${device.name}` : '', ' ', onlineBadge(device)),
      h('p', { className: 'where' }, `${device.site} · ${device.profile} · ${t('col.lastSeen')} ${localTime(device.lastSeen)}`),
      may(ctx.user.role, 'maintenance')
        ? h(
            'p',
            {},
            h(
              'a',
              { className: 'button-link', id: 'device-maintenance', href: `#/maintenance/device/${encodeURIComponent(device.id)}` },
              t('mw.fromDevice'),
            ),
          )
        : null,
      h('h3', {}, t('col.values')),
      valueList(device.lastValues, device.units),
      h('h3', {}, t('devices.openAlarms')),
      alarms.length === 0
        ? h('p', { className: 'muted' }, t('alarms.none'))
        : h(
            'ul',
            { className: 'device-alarms' },
            alarms.map((alarm) =>
              h(
                'li',
                {},
                severityBadge(alarm.severity),
                ' ',
                h('a', { href: `#/alarms/${encodeURIComponent(alarm.id)}` }, alarmMessage(alarm)),
                ' ',
                h('small', {}, localTime(alarm.raisedAt)),
              ),
            ),
          ),
      h('label', { className: 'filter' }, t('devices.trendOf'), picker),
    );
    if (first) loadTrend();
  };
  update();
  return { update, devicesChanged: update };
}
