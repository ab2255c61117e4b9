// The form that declares a maintenance window (`POST /api/shelves`): a device or a whole site, from now or from a
// time, until a time or for a number of minutes, with a reason. The gateway is the judge: each problem of its
// `validation_failed` answer is shown beside the field it names, any other refusal under the form with what its code
// means; nothing typed is lost.
import { errorMeaning, failureText, has, lang, t } from './i18n.js';
import { h, may } from './views.js';

/**
 * A problem of the gateway's `validation_failed` answer in words: in English its own message (exact, and what the
 * API documents); in Chinese the field's own line (the API speaks English only).
 */
const problemText = (problem) => {
  if (lang() === 'en') return problem.message;
  return t(has(`mw.problem.${problem.path}`) ? `mw.problem.${problem.path}` : 'mw.problem.other');
};

/** A `datetime-local` value (the officer's wall clock) as ISO 8601; '' stays '' (the gateway names the field). */
const isoOf = (local) => {
  const date = new Date(local);
  return local && !Number.isNaN(date.getTime()) ? date.toISOString() : local;
};

const choice = (id, options, value) => {
  const select = h(
    'select',
    { id, name: id.replace(/^mw-/, '') },
    options.map(([key, label]) => h('option', { value: key }, label)),
  );
  select.value = value;
  return select;
};

/**
 * The form for `ctx` (its client, user, devices, actingName); `preset`: `{ scope, device?, site? }` from the route.
 * `onDeclared(shelf, by)` runs after the gateway accepted it. Answers `{ element, devicesChanged, focus }`.
 */
export function maintenanceForm(ctx, { preset = null, onDeclared }) {
  const needName = ctx.user.kind !== 'user';
  const scope = choice(
    'mw-scope',
    ['device', 'site'].map((key) => [key, t(`mw.scope.${key}`)]),
    preset?.scope ?? 'site',
  );
  const site = h('select', { id: 'mw-site', name: 'site' });
  const device = h('select', { id: 'mw-device', name: 'device' });
  const wanted = { site: preset?.site ?? '', device: preset?.device ?? '' };
  const starts = choice(
    'mw-starts',
    [
      ['now', t('mw.startsNow')],
      ['at', t('mw.startsAt')],
    ],
    'now',
  );
  const from = h('input', { id: 'mw-from', name: 'from', type: 'datetime-local' });
  const ends = choice(
    'mw-ends',
    [
      ['after', t('mw.endsAfter')],
      ['at', t('mw.endsAt')],
    ],
    'after',
  );
  const minutes = h('input', { id: 'mw-minutes', name: 'durationMinutes', type: 'number', min: 1, step: 1, placeholder: '120' });
  const until = h('input', { id: 'mw-until', name: 'until', type: 'datetime-local' });
  const reason = h('textarea', { id: 'mw-reason', name: 'reason', rows: 2, maxlength: 2000, 'aria-required': 'true' });
  const by = needName ? h('input', { id: 'mw-by', name: 'by', type: 'text', maxlength: 200, 'aria-required': 'true' }) : null;
  if (by) by.value = ctx.actingName();

  const inputs = { scope, site, device, from, durationMinutes: minutes, until, reason, ...(by ? { by } : {}) };
  const errors = new Map();
  const rows = new Map();
  const field = (name, label, input, required = false) => {
    const error = h('span', { className: 'field-error', id: `${input.id}-error` });
    input.setAttribute('aria-describedby', error.id);
    input.addEventListener('input', () => {
      input.removeAttribute('aria-invalid');
      error.textContent = '';
    });
    errors.set(name, error);
    const row = h('div', { className: required ? 'field required' : 'field' }, h('label', { for: input.id }, t(label)), input, error);
    rows.set(name, row);
    return row;
  };

  const refusal = h('p', { className: 'error', id: 'mw-refusal', role: 'alert' });
  const submit = h('button', { type: 'submit', className: 'primary', id: 'mw-submit' }, t('mw.submit'));
  const element = h(
    'form',
    { className: 'stack mw-form', id: 'mw-form', novalidate: true, on: { submit: (event) => send(event) } },
    h('h2', {}, t('mw.declare')),
    field('scope', 'mw.scope', scope),
    field('site', 'mw.site', site, true),
    field('device', 'mw.device', device, true),
    field('starts', 'mw.starts', starts),
    field('from', 'mw.from', from, true),
    field('ends', 'mw.ends', ends),
    field('durationMinutes', 'mw.minutes', minutes, true),
    field('until', 'mw.until', until, true),
    field('reason', 'mw.reason', reason, true),
    by ? field('by', 'form.by', by, true) : null,
    h('p', { className: 'muted mw-red' }, t(may(ctx.user.role, 'shelveRed') ? 'mw.redHeld' : 'mw.redDelivered')),
    refusal,
    h('div', { className: 'dialog-buttons' }, submit),
  );

  /** Shows the fields the choices ask for. */
  const layout = () => {
    rows.get('site').hidden = scope.value !== 'site';
    rows.get('device').hidden = scope.value !== 'device';
    rows.get('from').hidden = starts.value !== 'at';
    rows.get('durationMinutes').hidden = ends.value !== 'after';
    rows.get('until').hidden = ends.value !== 'at';
  };
  for (const select of [scope, starts, ends]) select.addEventListener('change', layout);
  site.addEventListener('change', () => (wanted.site = site.value));
  device.addEventListener('change', () => (wanted.device = device.value));

  /** The site and device pickers from the registry the console loads (rebuilt only when it changed: an open picker stays). */
  let shown = null;
  const devicesChanged = () => {
    const devices = [...ctx.devices()].sort((a, b) => a.site.localeCompare(b.site) || a.id.localeCompare(b.id));
    const sites = [...new Set(devices.map((d) => d.site))].sort();
    const key = JSON.stringify(devices.map((d) => [d.id, d.name, d.site]));
    if (key === shown) return;
    shown = key;
    const placeholder = () => h('option', { value: '' }, '—');
    site.replaceChildren(placeholder(), ...sites.map((name) => h('option', { value: name }, name)));
    device.replaceChildren(
      placeholder(),
      ...devices.map((d) => h('option', { value: d.id }, `${d.id}${d.name && d.name !== d.id ? ` ${d.name}` : ''} · ${d.site}`)),
    );
    site.value = wanted.site;
    device.value = wanted.device;
  };

  /** Where a problem of the gateway's answer belongs: the field its path names (the end: whichever is shown). */
  const fieldOf = (path) => {
    if (path === 'until' || path === 'durationMinutes') return ends.value === 'at' ? 'until' : 'durationMinutes';
    return path in inputs && !rows.get(path)?.hidden ? path : null;
  };

  const clearProblems = () => {
    refusal.textContent = '';
    for (const [name, error] of errors) {
      error.textContent = '';
      inputs[name]?.removeAttribute('aria-invalid');
    }
  };

  const bodyOf = () => {
    const body = { scope: scope.value, reason: reason.value.trim() };
    if (scope.value === 'site') body.site = site.value || undefined;
    else body.device = device.value || undefined;
    if (starts.value === 'at') body.from = isoOf(from.value);
    if (ends.value === 'at') body.until = until.value ? isoOf(until.value) : undefined;
    else if (minutes.value.trim() !== '') body.durationMinutes = Number(minutes.value);
    if (by) body.by = by.value.trim() || undefined;
    return body;
  };

  const showRefusal = (error) => {
    const unplaced = [];
    for (const problem of error.code === 'validation_failed' ? (error.details ?? []) : []) {
      const name = fieldOf(String(problem.path));
      const text = problemText(problem);
      if (!name) {
        unplaced.push(`${problem.path}: ${text}`);
        continue;
      }
      const shown = errors.get(name);
      shown.title = problem.message; // the gateway's own words, for whoever asks the administrator
      shown.textContent = shown.textContent ? `${shown.textContent}; ${text}` : text;
      inputs[name].setAttribute('aria-invalid', 'true');
    }
    const meaning = error.code === 'validation_failed' ? [t('err.validation_failed'), ...unplaced].join(': ') : errorMeaning(error);
    // no answer, or the gateway's own fault: nothing was refused
    const unanswered = error.status === 0 || error.status >= 500;
    refusal.textContent = unanswered ? failureText(error, t('mw.declare')) : t('mw.refused', { meaning, code: error.code ?? '?' });
    const first = Object.keys(inputs).find((name) => inputs[name].getAttribute('aria-invalid') === 'true');
    if (first) inputs[first].focus();
  };

  async function send(event) {
    event.preventDefault();
    clearProblems();
    submit.disabled = true;
    const body = bodyOf();
    try {
      const shelf = await ctx.client.declareWindow(body);
      reason.value = '';
      minutes.value = '';
      until.value = '';
      from.value = '';
      onDeclared(shelf, body.by);
    } catch (error) {
      if (error.status === 401) return ctx.refused(error, t('mw.declare'));
      showRefusal(error);
    } finally {
      submit.disabled = false;
    }
  }

  devicesChanged();
  layout();
  return {
    element,
    devicesChanged,
    focus: () => {
      element.scrollIntoView({ block: 'nearest' });
      reason.focus();
    },
  };
}
