// The dispatcher's wall (`#/wall`, laid out for 1920×1080): every site with its open alarms by severity, what is not
// acknowledged and what is overdue, today's disposal rate; below, the alarms waiting for someone, most urgent first.
import { alarmMessage, duration, t } from './i18n.js';
import { deadlineCell, h, SEVERITIES, severityBadge, severityRank } from './views.js';

const TODAY_POLL_MS = 30_000;
/** The waiting alarms the wall lists (it is read from across the room); the rest are counted below them. */
const RANKED_SHOWN = 30;

const startOfToday = () => {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  return day;
};

/** Overdue first, then red before blue, then the oldest. */
const urgency = (a, b) =>
  Number(Boolean(b.overdue)) - Number(Boolean(a.overdue)) ||
  severityRank(a.severity) - severityRank(b.severity) ||
  Date.parse(a.raisedAt) - Date.parse(b.raisedAt);

export function mountWall(container, ctx) {
  let today = [];
  const sites = h('div', { className: 'wall-sites', id: 'wall-sites' });
  const ranked = h('ol', { className: 'wall-ranked', id: 'wall-ranked' });
  container.replaceChildren(
    h(
      'section',
      { className: 'wall' },
      h('h2', { className: 'visually-hidden' }, t('wall.title')),
      sites,
      h('h2', {}, t('wall.ranked')),
      ranked,
    ),
  );

  const update = () => {
    const open = ctx.openAlarms();
    const names = [...new Set([...ctx.devices().map((d) => d.site), ...open.map((a) => a.site)])].sort();
    const now = Date.now();
    sites.replaceChildren(
      ...names.map((site) => {
        const here = open.filter((a) => a.site === site);
        const raisedToday = today.filter((a) => a.site === site);
        const done = raisedToday.filter((a) => a.resolved).length;
        const rate = raisedToday.length === 0 ? '—' : `${Math.round((100 * done) / raisedToday.length)}%`;
        const worst = here.reduce((w, a) => (severityRank(a.severity) < severityRank(w) ? a.severity : w), 'none');
        return h(
          'article',
          { className: `wall-site worst-${worst}`, data: { site } },
          h('h3', {}, site),
          h(
            'div',
            { className: 'wall-counts' },
            Object.keys(SEVERITIES).map((severity) =>
              h(
                'span',
                { className: `wall-count sev-${severity}`, data: { severity }, title: severity },
                h('b', {}, String(here.filter((a) => a.severity === severity).length)),
                ` ${t(`sev.${severity}`)}`,
              ),
            ),
          ),
          h(
            'p',
            { className: 'wall-stats' },
            h(
              'span',
              { data: { stat: 'unacked' } },
              h('b', {}, String(here.filter((a) => !a.acknowledged).length)),
              ` ${t('wall.unacked')}`,
            ),
            h(
              'span',
              { data: { stat: 'overdue' }, className: here.some((a) => a.overdue) ? 'overdue' : '' },
              h('b', {}, String(here.filter((a) => a.overdue).length)),
              ` ${t('wall.overdue')}`,
            ),
            h(
              'span',
              { data: { stat: 'rate' } },
              `${t('wall.rate')} `,
              h('b', {}, rate),
              ` (${t('wall.rateOf', { done, all: raisedToday.length })})`,
            ),
          ),
        );
      }),
    );
    const waiting = open.filter((a) => !a.acknowledged || a.overdue).sort(urgency);
    const more = waiting.length - RANKED_SHOWN;
    ranked.replaceChildren(
      ...(waiting.length === 0
        ? [h('li', { className: 'muted' }, t('wall.nothing'))]
        : waiting
            .slice(0, RANKED_SHOWN)
            .map((alarm) =>
              h(
                'li',
                { className: `row-${alarm.severity}${alarm.overdue ? ' is-overdue' : ''}`, data: { alarmId: alarm.id } },
                severityBadge(alarm.severity),
                h('span', { className: 'wall-where' }, `${alarm.site} / ${alarm.device}`),
                h('a', { href: `#/alarms/${encodeURIComponent(alarm.id)}` }, alarmMessage(alarm)),
                h('span', { className: 'since' }, t('time.ago', { d: duration(now - Date.parse(alarm.raisedAt)) })),
                deadlineCell(alarm, now),
                h('span', {}, alarm.acknowledged ? alarm.acknowledgedBy : t('ack.none')),
              ),
            )),
      ...(more > 0 ? [h('li', { className: 'wall-more', id: 'wall-more' }, t('wall.more', { n: more }))] : []),
    );
  };

  const loadToday = async () => {
    try {
      // every one, however many (a page is at most 10,000): the rate of a day with more would be wrong
      today = await ctx.client.listEveryAlarm({ state: 'all', from: startOfToday().toISOString() });
      update();
    } catch (error) {
      ctx.refused(error, t('wall.title'));
    }
  };
  const timer = setInterval(loadToday, TODAY_POLL_MS);
  update();
  loadToday();
  return {
    update,
    devicesChanged: update,
    onAlarm: (alarm) => {
      const known = today.findIndex((a) => a.id === alarm.id);
      if (known >= 0) today[known] = alarm;
      else if (Date.parse(alarm.raisedAt) >= startOfToday().getTime()) today.push(alarm);
    },
    unmount: () => clearInterval(timer),
  };
}
