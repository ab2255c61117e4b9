// `#/maintenance`: the maintenance windows of devices and sites (`GET /api/shelves?state=all`; an alarm's own shelf
// is on its page), on and upcoming first, then the recently ended; for the roles that may, the form to declare one
// (`#/maintenance/device/{id}` or `…/site/{site}` opens it preset: the device page's shortcut) and an End button.
import { errorMeaning, failureText, t } from './i18n.js';
import { maintenanceForm } from './maintenance-form.js';
import { h, localTime, may } from './views.js';

const POLL_MS = 30_000;
const RANK = { on: 0, upcoming: 1, ended: 2 };

/** on (holding its alarms now), upcoming (begins later) or ended (by its end or its until). */
export const windowState = (shelf, now) =>
  shelf.endedAt !== null || Date.parse(shelf.until) <= now ? 'ended' : Date.parse(shelf.from) > now ? 'upcoming' : 'on';

/** On first (the soonest to end first), then upcoming (the soonest to begin), then ended (the latest first). */
function sorted(windows, now) {
  const key = (shelf, state) =>
    state === 'on' ? Date.parse(shelf.until) : state === 'upcoming' ? Date.parse(shelf.from) : -Date.parse(shelf.endedAt ?? shelf.until);
  return windows
    .map((shelf) => ({ shelf, state: windowState(shelf, now) }))
    .sort((a, b) => RANK[a.state] - RANK[b.state] || key(a.shelf, a.state) - key(b.shelf, b.state));
}

/** `device/dc-01` or `site/site-a` (what follows `#/maintenance/`) as the form's preset. */
function presetOf(id) {
  const [kind, ...rest] = (id ?? '').split('/');
  const name = rest.join('/');
  if (kind === 'device' && name) return { scope: 'device', device: name };
  if (kind === 'site' && name) return { scope: 'site', site: name };
  return null;
}

const describe = (shelf) =>
  `${t(`mw.scope.${shelf.scope}`)} ${shelf.site}${shelf.device ? ` / ${shelf.device}` : ''} (${localTime(shelf.from)} – ${localTime(shelf.until)})`;

/** The dialog that ends a window early, with an optional note (and the name a shared token acts as). */
function openEndDialog(ctx, shelf, onEnded) {
  const dialog = document.getElementById('action-dialog');
  const form = document.getElementById('action-form');
  const note = h('textarea', { id: 'mw-end-note', name: 'note', rows: 2, maxlength: 4000 });
  const by = ctx.user.kind === 'user' ? null : h('input', { id: 'mw-end-by', name: 'by', type: 'text', maxlength: 200 });
  if (by) by.value = ctx.actingName();
  const refusal = h('p', { className: 'error', id: 'mw-end-refusal', role: 'alert' });
  const confirm = h('button', { type: 'submit', className: 'primary' }, t('mw.end'));
  form.replaceChildren(
    h('h2', {}, t('mw.endTitle')),
    h('p', { className: 'dialog-alarm' }, `${describe(shelf)}: ${shelf.reason}`),
    by ? h('div', { className: 'field required' }, h('label', { for: by.id }, t('form.by')), by) : null,
    h('div', { className: 'field' }, h('label', { for: note.id }, t('form.note')), note),
    refusal,
    h(
      'div',
      { className: 'dialog-buttons' },
      confirm,
      h('button', { type: 'button', on: { click: () => dialog.close('cancel') } }, t('action.cancel')),
    ),
  );
  dialog.onclose = null; // an alarm action's draft keeping is not for this dialog
  form.onsubmit = async (event) => {
    event.preventDefault();
    refusal.textContent = '';
    confirm.disabled = true;
    const body = { by: by?.value.trim() || undefined, note: note.value.trim() || undefined };
    try {
      const ended = await ctx.client.endShelf(shelf.id, body);
      dialog.close('done');
      onEnded(ended, body.by);
    } catch (error) {
      if (error.status === 401) {
        dialog.close('cancel');
        return ctx.refused(error, t('mw.endTitle'));
      }
      if (error.status === 0 || error.status >= 500) {
        refusal.textContent = failureText(error, t('mw.endTitle')); // not refused: unreachable, or the gateway's fault
        return;
      }
      refusal.textContent = t('mw.endRefused', { meaning: errorMeaning(error), code: error.code ?? '?' });
    } finally {
      confirm.disabled = false;
    }
  };
  dialog.showModal();
  (by && !by.value ? by : note).focus();
}

export function mountMaintenance(container, ctx, id) {
  const canAct = may(ctx.user.role, 'maintenance');
  let windows = [];
  let fresh = null;
  const rows = h('tbody', { id: 'mw-rows' });
  const empty = h('p', { className: 'empty', id: 'mw-empty', hidden: true }, t('mw.none'));
  const count = h('span', { className: 'count', id: 'mw-count' });

  const load = async () => {
    try {
      const list = await ctx.client.listShelves('all');
      windows = list.filter((shelf) => shelf.scope !== 'alarm');
      render();
    } catch (error) {
      ctx.refused(error, t('nav.maintenance'));
    }
  };

  /** A window the gateway answered with (declared, ended): into the list at once, then the list fetched again. */
  const merge = (shelf) => {
    windows = [shelf, ...windows.filter((known) => known.id !== shelf.id)];
    render();
    void load();
  };

  const form = canAct
    ? maintenanceForm(ctx, {
        preset: presetOf(id),
        onDeclared: (shelf, by) => {
          if (by) ctx.rememberName(by);
          fresh = shelf.id;
          merge(shelf);
          ctx.notice(t('mw.declared', { what: describe(shelf) }), 'info');
          if (id) history.replaceState(null, '', '#/maintenance');
        },
      })
    : null;

  const endButton = (shelf) =>
    h(
      'button',
      {
        type: 'button',
        className: 'mw-end',
        title: t('mw.endTitle'),
        on: {
          click: () =>
            openEndDialog(ctx, shelf, (ended, by) => {
              if (by) ctx.rememberName(by);
              merge(ended);
              ctx.notice(t('mw.endedNotice', { what: describe(ended) }), 'info');
            }),
        },
      },
      t('mw.end'),
    );

  const row = ({ shelf, state }) =>
    h(
      'tr',
      { className: `mw-row mw-${state}${shelf.id === fresh ? ' mw-fresh' : ''}`, data: { shelfId: shelf.id, state, scope: shelf.scope } },
      h('td', {}, h('span', { className: `mw-state mw-state-${state}` }, t(`mw.state.${state}`))),
      h('td', { className: 'nowrap' }, t(`mw.scope.${shelf.scope}`)),
      h(
        'td',
        { className: 'nowrap mw-where' },
        shelf.site,
        ' / ',
        shelf.device
          ? h('a', { href: `#/devices/${encodeURIComponent(shelf.device)}` }, shelf.device)
          : h('span', { className: 'muted' }, t('mw.wholeSite')),
      ),
      h(
        'td',
        { className: 'time mw-window' },
        h('time', { datetime: shelf.from }, localTime(shelf.from)),
        ' – ',
        h('br'),
        h('time', { datetime: shelf.until }, localTime(shelf.until)),
      ),
      h('td', { className: 'mw-by' }, shelf.by, h('br'), h('small', { className: 'muted' }, localTime(shelf.createdAt))),
      h(
        'td',
        { className: 'mw-reason' },
        shelf.reason,
        ' ',
        h('span', { className: shelf.holdsRed ? 'tag holds-red' : 'tag' }, t(shelf.holdsRed ? 'mw.holdsRed' : 'mw.redPasses')),
      ),
      h(
        'td',
        { className: 'mw-ended' },
        state === 'ended'
          ? [
              h('time', { className: 'nowrap', datetime: shelf.endedAt ?? shelf.until }, localTime(shelf.endedAt ?? shelf.until)),
              h('br'),
              h('small', {}, shelf.endedBy ? t('mw.endedBy', { who: shelf.endedBy }) : t('mw.expired')),
            ]
          : '—',
      ),
      canAct ? h('td', { className: 'actions' }, state === 'ended' ? null : endButton(shelf)) : null,
    );

  function render() {
    const list = sorted(windows, Date.now());
    rows.replaceChildren(...list.map(row));
    empty.hidden = list.length > 0;
    count.textContent = t('mw.count', {
      on: list.filter((entry) => entry.state === 'on').length,
      upcoming: list.filter((entry) => entry.state === 'upcoming').length,
    });
  }

  const head = ['mw.col.state', 'mw.col.scope', 'mw.col.where', 'mw.col.window', 'mw.col.by', 'mw.col.reason', 'mw.col.ended'];
  container.replaceChildren(
    h(
      'div',
      { className: canAct ? 'mw-layout' : 'mw-layout read-only' },
      h(
        'section',
        { className: 'card maintenance' },
        h('div', { className: 'section-head' }, h('h2', {}, t('mw.title'), ' ', count)),
        canAct ? null : h('p', { className: 'muted', id: 'mw-readonly' }, t('mw.readonly')),
        h(
          'div',
          { className: 'table-wrap' },
          h(
            'table',
            { className: 'mw-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                head.map((key) => h('th', { scope: 'col' }, t(key))),
                canAct ? h('th', { scope: 'col' }, t('col.actions')) : null,
              ),
            ),
            rows,
          ),
        ),
        empty,
      ),
      form ? h('section', { className: 'card' }, form.element) : null,
    ),
  );
  render();
  void load();
  if (form && presetOf(id)) form.focus();
  const timer = setInterval(load, POLL_MS);
  return {
    update: render, // the clock moves windows from upcoming to on to ended
    devicesChanged: () => form?.devicesChanged(),
    unmount: () => clearInterval(timer),
  };
}
