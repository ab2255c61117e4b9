// The action dialog: acknowledge, assign, resolve (with its disposal record). Each form is checked before it is
// sent; a refusal from the gateway is shown in the dialog with what its code means, and nothing typed is lost: the
// dialog stays open with the fields as they were, and a dialog closed unsent keeps its draft for the next time.
import { alarmMessage, failureText, t } from './i18n.js';
import { h } from './views.js';

/** Each action's fields: name, label key, required, kind. */
const FORMS = {
  ack: [{ name: 'note', label: 'form.note', kind: 'textarea' }],
  assign: [
    { name: 'to', label: 'form.to', required: true },
    { name: 'note', label: 'form.note', kind: 'textarea' },
  ],
  resolve: [
    { name: 'cause', label: 'form.cause', required: true, kind: 'textarea' },
    { name: 'measures', label: 'form.measures', required: true, kind: 'textarea' },
    { name: 'responsible', label: 'form.responsible', required: true },
    { name: 'attachment', label: 'form.attachment', kind: 'url' },
    { name: 'note', label: 'form.note', kind: 'textarea' },
  ],
  shelve: [
    { name: 'reason', label: 'form.reason', required: true, kind: 'textarea' },
    { name: 'durationMinutes', label: 'form.minutes', required: true, kind: 'minutes' },
  ],
  unshelve: [{ name: 'note', label: 'form.note', kind: 'textarea' }],
};

const MAX_LENGTH = { to: 200, responsible: 200, by: 200, attachment: 2000, cause: 2000, measures: 4000, note: 4000, reason: 2000 };

/** Drafts of dialogs closed unsent, by action and alarm. */
const drafts = new Map();

/** What the API takes for the action, from the form's values. */
function bodyOf(action, values, by) {
  const note = values.note?.trim() || undefined;
  const who = by ? { by } : {};
  if (action === 'assign') return { ...who, to: values.to.trim(), note };
  if (action === 'resolve') {
    const disposal = { cause: values.cause.trim(), measures: values.measures.trim(), responsible: values.responsible.trim() };
    if (values.attachment?.trim()) disposal.attachment = values.attachment.trim();
    return { ...who, note, disposal };
  }
  if (action === 'shelve') return { ...who, reason: values.reason.trim(), durationMinutes: Number(values.durationMinutes) };
  return { ...who, note };
}

/** Problems of the form's values, by field name (empty: good to send). */
function problemsOf(fields, values) {
  const problems = {};
  for (const field of fields) {
    const value = (values[field.name] ?? '').trim();
    if (field.required && value === '') problems[field.name] = t('form.required');
    else if (field.kind === 'url' && value !== '' && !/^https?:\/\/\S+$/i.test(value)) problems[field.name] = t('form.badUrl');
    else if (field.kind === 'minutes' && value !== '' && !/^[1-9]\d{0,5}$/.test(value)) problems[field.name] = t('form.badMinutes');
  }
  return problems;
}

/**
 * Opens the dialog for `action` on `alarm` (or on what `subject` names: `{ key, text }`, e.g. the alarms checked in
 * the list). `needName`: the caller is a shared token without a name yet (the form asks
 * for one, as `by`). `send(body)` performs it and answers the updated alarm, or throws the API's refusal. `done(alarm,
 * by)` runs after a success.
 */
export function openActionForm({ action, alarm, subject, needName, defaultName = '', send, done }) {
  const dialog = document.getElementById('action-dialog');
  const form = document.getElementById('action-form');
  const key = subject?.key ?? `${action}:${alarm.id}`;
  const draft = drafts.get(key) ?? {};
  const fields = [...(needName ? [{ name: 'by', label: 'form.by', required: true }] : []), ...FORMS[action]];
  const inputs = new Map();
  const errors = new Map();

  const fieldRow = (field) => {
    const id = `action-field-${field.name}`;
    const attributes = { id, name: field.name, maxlength: MAX_LENGTH[field.name] ?? 2000, 'aria-describedby': `${id}-error` };
    const input =
      field.kind === 'textarea'
        ? h('textarea', { ...attributes, rows: 2 })
        : h('input', { ...attributes, type: field.kind === 'url' ? 'url' : field.kind === 'minutes' ? 'number' : 'text' });
    input.value = draft[field.name] ?? (field.name === 'by' ? defaultName : '');
    input.addEventListener('input', () => {
      input.removeAttribute('aria-invalid');
      errors.get(field.name).textContent = '';
    });
    const error = h('span', { className: 'field-error', id: `${id}-error` });
    inputs.set(field.name, input);
    errors.set(field.name, error);
    if (field.required) input.setAttribute('aria-required', 'true');
    return h('div', { className: field.required ? 'field required' : 'field' }, h('label', { for: id }, t(field.label)), input, error);
  };

  const refusal = h('p', { className: 'error', id: 'action-refusal', role: 'alert' });
  const confirm = h('button', { type: 'submit', className: 'primary' }, t(`action.${action}`));
  const cancel = h('button', { type: 'button', on: { click: () => dialog.close('cancel') } }, t('action.cancel'));
  form.replaceChildren(
    h('h2', {}, t(`action.${action}`)),
    h('p', { className: 'dialog-alarm' }, subject?.text ?? `${alarm.site} / ${alarm.device} / ${alarm.rule}: ${alarmMessage(alarm)}`),
    ...fields.map(fieldRow),
    refusal,
    h('div', { className: 'dialog-buttons' }, confirm, cancel),
  );

  const values = () => Object.fromEntries([...inputs].map(([name, input]) => [name, input.value]));
  let sent = false;
  dialog.onclose = () => {
    if (!sent) drafts.set(key, values());
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const current = values();
    const problems = problemsOf(fields, current);
    refusal.textContent = '';
    for (const [name, input] of inputs) {
      const problem = problems[name];
      if (problem) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      errors.get(name).textContent = problem ?? '';
    }
    const first = fields.find((field) => problems[field.name]);
    if (first) {
      refusal.textContent = t('form.fix');
      inputs.get(first.name).focus();
      return;
    }
    confirm.disabled = true;
    const by = current.by?.trim() || defaultName || undefined;
    try {
      const updated = await send(bodyOf(action, current, by));
      sent = true;
      drafts.delete(key);
      dialog.close('done');
      done(updated, by);
    } catch (error) {
      refusal.textContent = failureText(error, t(`action.${action}`));
    } finally {
      confirm.disabled = false;
    }
  };
  dialog.showModal();
  inputs.get(fields[0].name)?.focus();
}
