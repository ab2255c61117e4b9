// The alarm list: open alarms kept live (filtered here, as the gateway filters), or closed ones (the history) a page
// at a time from the gateway; filters, text search, CSV export of the rows shown.
import { keepCsvRows } from './csv-rows.js';
import { t } from './i18n.js';
import { focusKeeper } from './keep-focus.js';
import { alarmRow, checkBox, h, may, raisedByGateway, refreshTimes, SEVERITIES, severityRank } from './views.js';

const PAGE_SIZE = 50;
const RED_FIRST_KEY = 'console.redFirst';

/** The filters, kept while the console is open (both lists share them). */
const filters = { site: '', profile: '', device: '', severity: '', state: '', assignee: '', overdue: false, q: '' };

/** The gateway's text search (alarm-query.ts), here for the live list: every word in one of these fields. */
const searchText = (alarm) =>
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
    .filter((part) => typeof part === 'string')
    .join('\n')
    .toLowerCase();

export function matches(alarm, f = filters) {
  if (f.site && alarm.site !== f.site) return false;
  if (f.profile && alarm.profile !== f.profile) return false;
  if (f.device && alarm.device !== f.device) return false;
  if (f.severity && alarm.severity !== f.severity) return false;
  if (f.state && alarm.state !== f.state) return false;
  if (f.assignee && (f.assignee === '-' ? Boolean(alarm.assignee) : alarm.assignee !== f.assignee)) return false;
  if (f.overdue && !alarm.overdue) return false;
  const words = f.q.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length > 0) {
    const text = searchText(alarm);
    if (!words.every((word) => text.includes(word))) return false;
  }
  return true;
}

/**
 * The filters as the API's query parameters, for the open list or the history. State and "overdue only" are the open
 * list's: the history shows neither control, so a box ticked there must not narrow it unseen.
 */
const queryOf = (history) => ({
  state: history ? 'resolved' : filters.state || 'open',
  site: filters.site,
  profile: filters.profile,
  device: filters.device,
  severity: filters.severity,
  assignee: filters.assignee,
  overdue: !history && filters.overdue ? 'true' : '',
  q: filters.q.trim(),
});

const unique = (values) => [...new Set(values.filter(Boolean))].sort();

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Mounts the list in `container`: mode `open` (live) or `history` (closed alarms, paged). */
export function mountAlarmList(container, ctx, mode) {
  const history = mode === 'history';
  /** The history's pages turned so far: the cursor each started after (keyset paging: none repeats or is skipped). */
  let pages = [];
  let page = { alarms: [], total: 0, offset: 0, next: null };
  let loading = 0;

  const select = (name, options, labelKey) => {
    const element = h(
      'select',
      { id: `filter-${name}`, name, on: { change: () => set(name, element.value) } },
      h('option', { value: '' }, t('filter.any')),
      options.map(([value, text]) => h('option', { value }, text)),
    );
    element.value = filters[name];
    return h('label', { className: 'filter' }, t(labelKey), element);
  };
  const set = (name, value) => {
    filters[name] = value;
    pages = [];
    refresh();
  };

  const rows = h('tbody', { id: 'alarm-rows' });
  const keepFocus = focusKeeper(rows);
  // The open list: alarms checked to be acknowledged or resolved together (kept while they are shown).
  const checking = !history && (may(ctx.user.role, 'ack') || may(ctx.user.role, 'resolve'));
  const checked = new Set();
  const checkAll = checking
    ? checkBox(false, t('bulk.selectAll'), (on) => {
        checked.clear();
        if (on) for (const alarm of shown()) checked.add(alarm.id);
        update();
      })
    : null;
  if (checkAll) checkAll.id = 'check-all';
  const checkedShown = () => shown().filter((alarm) => checked.has(alarm.id));
  const bulkButton = (action, id) =>
    may(ctx.user.role, action)
      ? h('button', { type: 'button', id, on: { click: () => ctx.actMany(action, checkedShown()) } }, t(`bulk.${action}`))
      : null;
  const checkedCount = h('span', { id: 'checked-count' });
  const bulkBar = h(
    'div',
    { className: 'bulk-bar', id: 'bulk-bar', hidden: true },
    checkedCount,
    bulkButton('ack', 'bulk-ack'),
    bulkButton('resolve', 'bulk-resolve'),
    h(
      'button',
      {
        type: 'button',
        id: 'bulk-clear',
        on: {
          click: () => {
            checked.clear();
            update();
          },
        },
      },
      t('bulk.clear'),
    ),
  );
  const empty = h('p', { className: 'empty', id: 'alarm-empty' }, t('alarms.none'));
  const count = h('span', { className: 'count', id: 'alarm-count' });
  const summary = h('div', { className: 'summary', id: 'alarm-summary' });
  const pager = h('div', { className: 'pager', id: 'pager' });
  const filterBar = h('form', { className: 'filters', id: 'filters', on: { submit: (e) => e.preventDefault() } });
  const redFirst = h('input', { type: 'checkbox', id: 'red-first' });
  redFirst.checked = localStorage.getItem(RED_FIRST_KEY) === 'true';
  redFirst.addEventListener('change', () => {
    localStorage.setItem(RED_FIRST_KEY, String(redFirst.checked));
    update();
  });
  const exportButton = h('button', { type: 'button', id: 'export-csv', on: { click: () => exportCsv() } }, t('alarms.export'));

  const buildFilters = () => {
    const devices = ctx.devices();
    const known = [...ctx.openAlarms(), ...page.alarms];
    const search = h('input', { type: 'search', id: 'filter-q', name: 'q', maxlength: 200, placeholder: '…' });
    search.value = filters.q;
    let timer = null;
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => set('q', search.value), history ? 300 : 0);
    });
    const overdue = h('input', { type: 'checkbox', id: 'filter-overdue', on: { change: () => set('overdue', overdue.checked) } });
    overdue.checked = filters.overdue;
    const clear = h(
      'button',
      {
        type: 'button',
        className: 'link',
        on: {
          click: () => {
            Object.assign(filters, { site: '', profile: '', device: '', severity: '', state: '', assignee: '', overdue: false, q: '' });
            pages = [];
            buildFilters();
            refresh();
          },
        },
      },
      t('filter.clear'),
    );
    filterBar.replaceChildren(
      h('label', { className: 'filter search' }, t('filter.search'), search),
      select(
        'site',
        unique(devices.map((d) => d.site)).map((v) => [v, v]),
        'filter.site',
      ),
      select(
        'profile',
        unique(devices.map((d) => d.profile)).map((v) => [v, v]),
        'filter.profile',
      ),
      select(
        'device',
        unique(devices.map((d) => d.id)).map((v) => [v, v]),
        'filter.device',
      ),
      select(
        'severity',
        Object.keys(SEVERITIES).map((v) => [v, `${t(`sev.${v}`)} ${v}`]),
        'filter.severity',
      ),
      history
        ? null
        : select(
            'state',
            ['active', 'cleared'].map((v) => [v, t(`state.${v}`)]),
            'filter.state',
          ),
      select(
        'assignee',
        [
          ['-', t('filter.nobody')],
          ...unique([...known.map((a) => a.assignee), filters.assignee === '-' ? '' : filters.assignee]).map((v) => [v, v]),
        ],
        'filter.assignee',
      ),
      history ? null : h('label', { className: 'filter toggle' }, overdue, t('filter.overdue')),
      clear,
    );
  };

  const shown = () => {
    if (history) return page.alarms;
    const list = ctx.openAlarms().filter((alarm) => matches(alarm));
    // newest first by when the gateway raised it: a device's backlog, uploaded hours late, comes in at the top
    return list.sort(
      (a, b) =>
        (redFirst.checked ? severityRank(a.severity) - severityRank(b.severity) : 0) ||
        raisedByGateway(b) - raisedByGateway(a) ||
        (a.id < b.id ? 1 : -1),
    );
  };

  function update() {
    const list = shown();
    const now = Date.now();
    if (checking) {
      const ids = new Set(list.map((alarm) => alarm.id));
      for (const id of checked) if (!ids.has(id)) checked.delete(id); // resolved, or filtered out
    }
    const check = (alarm) =>
      checking
        ? {
            checked: checked.has(alarm.id),
            onToggle: (on) => {
              if (on) checked.add(alarm.id);
              else checked.delete(alarm.id);
              showChecked(list.length);
            },
          }
        : null;
    keepFocus(() =>
      rows.replaceChildren(
        ...list.map((alarm) =>
          alarmRow(alarm, { role: ctx.user.role, now, onAction: ctx.act, busy: ctx.busy(alarm.id), history, check: check(alarm) }),
        ),
      ),
    );
    showChecked(list.length);
    empty.hidden = list.length > 0;
    count.textContent = String(history ? page.total : list.length);
    if (history) {
      pager.replaceChildren(
        h('button', { type: 'button', id: 'page-prev', disabled: pages.length === 0, on: { click: () => turn(-1) } }, t('alarms.prev')),
        h(
          'span',
          { id: 'page-range' },
          t('alarms.page', { from: list.length === 0 ? 0 : page.offset + 1, to: page.offset + list.length, total: page.total }),
        ),
        h('button', { type: 'button', id: 'page-next', disabled: page.next === null, on: { click: () => turn(1) } }, t('alarms.next')),
      );
      return;
    }
    const chips = Object.keys(SEVERITIES)
      .map((severity) => [severity, list.filter((a) => a.severity === severity).length])
      .filter(([, n]) => n > 0)
      .map(([severity, n]) => h('span', { className: `chip sev-${severity}`, title: severity }, `${t(`sev.${severity}`)} ${n}`));
    const unacknowledged = list.filter((a) => !a.acknowledged).length;
    const overdue = list.filter((a) => a.overdue).length;
    if (unacknowledged > 0) chips.push(h('span', { className: 'chip unacked' }, t('alarms.unacked', { n: unacknowledged })));
    if (overdue > 0) chips.push(h('span', { className: 'chip overdue' }, t('alarms.overdueCount', { n: overdue })));
    summary.replaceChildren(...chips);
  }

  /** The bar of what is checked, and the check box of all shown. */
  function showChecked(shownCount) {
    if (!checking) return;
    bulkBar.hidden = checked.size === 0;
    checkedCount.textContent = t('bulk.selected', { n: checked.size });
    checkAll.checked = shownCount > 0 && checked.size === shownCount;
  }

  async function refresh() {
    if (!history) return update();
    const mine = ++loading;
    try {
      const answer = await ctx.client.listAlarms({ ...queryOf(true), limit: PAGE_SIZE, after: pages.at(-1) });
      if (mine !== loading) return;
      page = answer;
      update();
    } catch (error) {
      ctx.refused(error, t('nav.history'));
    }
  }

  const turn = (direction) => {
    if (direction > 0) {
      if (pages.at(-1) === page.next) return; // the next page is on its way
      pages.push(page.next);
    } else pages.pop();
    refresh();
  };

  async function exportCsv() {
    const query = queryOf(history);
    // The API's `state=cleared` holds the closed alarms too (resolved ones have cleared): the open list's "cleared" is
    // asked for as every open alarm, and the cleared rows kept — the rows shown, not the whole history.
    const openCleared = query.state === 'cleared';
    try {
      const csv = await ctx.client.alarmsCsv(openCleared ? { ...query, state: 'open' } : query);
      download(
        history ? 'alarms-history.csv' : 'alarms-open.csv',
        openCleared ? keepCsvRows(csv, 'state', (state) => state === 'cleared') : csv,
      );
    } catch (error) {
      ctx.refused(error, t('alarms.export'));
    }
  }

  const head = (keys) =>
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        checkAll ? h('th', { scope: 'col', className: 'check' }, checkAll) : null,
        keys.map((key) => h('th', { scope: 'col', className: key.replace('.', '-') }, t(key))),
      ),
    );
  container.replaceChildren(
    h(
      'section',
      { className: `alarms card ${history ? 'history' : 'open'}` },
      h(
        'div',
        { className: 'section-head' },
        h('h2', {}, t(history ? 'alarms.history' : 'alarms.open'), ' ', count),
        summary,
        history ? null : h('label', { className: 'toggle' }, redFirst, t('alarms.redFirst')),
        exportButton,
      ),
      filterBar,
      checking ? bulkBar : null,
      h(
        'div',
        { className: 'table-wrap' },
        h(
          'table',
          { className: 'alarm-table' },
          head([
            'col.severity',
            'col.site',
            'col.device',
            'col.rule',
            'col.message',
            'col.raised',
            history ? 'col.resolved' : 'col.deadline',
            'col.state',
            'col.acknowledged',
            'col.assignee',
            ...(history ? [] : ['col.actions']),
          ]),
          rows,
        ),
      ),
      empty,
      history ? pager : null,
    ),
  );
  let signature = '';
  const devicesChanged = () => {
    const next = ctx
      .devices()
      .map((d) => `${d.id}/${d.site}/${d.profile}`)
      .join(',');
    if (next === signature) return;
    signature = next;
    buildFilters();
  };
  devicesChanged();
  refresh();
  return {
    update: () => (history ? undefined : update()),
    devicesChanged,
    // the clock moves the times only: rebuilt, the rows would lose the keyboard focus every tick
    tick: () => refreshTimes(rows, Date.now()),
  };
}
