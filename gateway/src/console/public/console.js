// The duty-officer console: sign-in, the open-alarm table kept live from the stream, actions, devices, log.
import { createGatewayClient } from './gateway-client.js';
import { alarmRow, deviceRow, eventLogEntry, h, needsAttention, noteLogEntry, SEVERITIES, severityRank } from './views.js';

const TOKEN_KEY = 'console.token'; // sessionStorage: gone when the tab closes
const NAME_KEY = 'console.officer'; // localStorage: the name is not a secret
const RED_FIRST_KEY = 'console.redFirst';
const LOG_LIMIT = 200;
const CLOSED_LIMIT = 5_000;
const DEVICE_POLL_MS = 10_000;
const FLASH_MS = 4_000;

const $ = (id) => document.getElementById(id);

/** Open alarms by id, each with the generation of its last change (to merge a list fetched meanwhile). */
const alarms = new Map();
/** Ids of alarms resolved while we watched: a list fetched before the resolution must not bring them back. */
const closed = new Set();
const busy = new Set();
let generation = 0;
let session = null;

// ---- alarm state ----

function upsert(alarm) {
  const known = alarms.get(alarm.id);
  if (closed.has(alarm.id) || (known && known.alarm.seq > alarm.seq)) return;
  generation += 1;
  if (alarm.resolved) {
    alarms.delete(alarm.id);
    closed.add(alarm.id);
    if (closed.size > CLOSED_LIMIT) closed.delete(closed.values().next().value);
  } else {
    alarms.set(alarm.id, { alarm, generation });
  }
}

async function reloadAlarms(current) {
  const startedAt = generation;
  const list = await current.client.listOpenAlarms();
  if (session !== current) return;
  const merged = new Map();
  for (const alarm of list) if (!closed.has(alarm.id)) merged.set(alarm.id, { alarm, generation: startedAt });
  for (const [id, entry] of alarms) {
    const listed = merged.get(id);
    // Keep what the stream delivered while the list was on its way.
    if (listed ? entry.alarm.seq > listed.alarm.seq : entry.generation > startedAt) merged.set(id, entry);
  }
  alarms.clear();
  for (const [id, entry] of merged) alarms.set(id, entry);
  renderAlarms();
}

function sortedAlarms() {
  const redFirst = $('red-first').checked;
  return [...alarms.values()]
    .map((entry) => entry.alarm)
    .sort(
      (a, b) =>
        (redFirst ? severityRank(a.severity) - severityRank(b.severity) : 0) ||
        Date.parse(b.raisedAt) - Date.parse(a.raisedAt) ||
        (a.id < b.id ? 1 : -1),
    );
}

// ---- rendering ----

function renderAlarms() {
  const list = sortedAlarms();
  const handlers = { onAcknowledge: acknowledge, onResolve: askResolve };
  $('alarm-rows').replaceChildren(...list.map((alarm) => alarmRow(alarm, { ...handlers, busy: busy.has(alarm.id) })));
  $('alarm-empty').hidden = list.length > 0;
  $('alarm-count').textContent = String(list.length);
  const chips = Object.entries(SEVERITIES)
    .map(([severity, { label }]) => [severity, label, list.filter((a) => a.severity === severity).length])
    .filter(([, , count]) => count > 0)
    .map(([severity, label, count]) => h('span', { className: `chip sev-${severity}`, title: severity }, `${label} ${count}`));
  const unacknowledged = list.filter((a) => !a.acknowledged).length;
  if (unacknowledged > 0) chips.push(h('span', { className: 'chip unacked' }, `${unacknowledged} not acknowledged`));
  $('alarm-summary').replaceChildren(...chips);
  document.title = unacknowledged > 0 ? `(${unacknowledged}) Alarm console` : 'Alarm console';
}

function log(entry) {
  const list = $('event-log');
  list.prepend(entry);
  while (list.children.length > LOG_LIMIT) list.lastElementChild.remove();
}

let flashTimer = null;
function flash() {
  document.body.classList.remove('flash');
  void document.body.offsetWidth; // restart the animation
  document.body.classList.add('flash');
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => document.body.classList.remove('flash'), FLASH_MS);
}

function setConnection(state) {
  const indicator = $('connection');
  if (indicator.dataset.state === state) return;
  const was = indicator.dataset.state;
  indicator.dataset.state = state;
  $('console').dataset.feed = state;
  $('connection-text').textContent = state === 'connected' ? 'connected' : 'reconnecting…';
  if (state === 'connected') log(noteLogEntry(was === 'reconnecting' ? 'live feed reconnected' : 'live feed connected'));
  else log(noteLogEntry('live feed lost: reconnecting (the table may be out of date)'));
}

let noticeTimer = null;
function notice(text, kind = 'error') {
  clearTimeout(noticeTimer);
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = false;
  if (kind === 'info') noticeTimer = setTimeout(() => ($('notice').hidden = true), 6_000);
}

// ---- live feed and devices ----

function onEvent(event) {
  upsert(event.data.alarm);
  renderAlarms();
  log(eventLogEntry(event));
  const alarm = event.data.alarm;
  if ((event.type === 'alarm.raised' || event.type === 'alarm.escalated') && needsAttention(alarm)) flash();
}

async function loadDevices(current) {
  try {
    const devices = await current.client.listDevices();
    if (session !== current) return;
    devices.sort((a, b) => a.site.localeCompare(b.site) || a.id.localeCompare(b.id));
    $('device-rows').replaceChildren(...devices.map(deviceRow));
    $('device-count').textContent = `${devices.filter((d) => d.online).length} / ${devices.length} online`;
  } catch (error) {
    refused(error, 'Loading devices');
  }
}

// ---- actions ----

const officer = () => $('officer-name').value.trim();

function rememberOfficer(name) {
  $('officer-name').value = name;
  localStorage.setItem(NAME_KEY, name);
}

function acknowledge(alarm) {
  if (officer()) void perform('ack', alarm, officer(), null);
  else openActionDialog('ack', alarm);
}

function askResolve(alarm) {
  openActionDialog('resolve', alarm);
}

function openActionDialog(action, alarm) {
  const dialog = $('action-dialog');
  const needName = !officer();
  $('action-title').textContent = action === 'ack' ? 'Acknowledge alarm' : 'Resolve alarm';
  $('action-confirm').textContent = action === 'ack' ? 'Acknowledge' : 'Resolve';
  $('action-alarm').textContent = `${alarm.site} / ${alarm.device} / ${alarm.rule}: ${alarm.message}`;
  $('action-name-label').hidden = !needName;
  $('action-name').required = needName;
  $('action-name').value = officer();
  $('action-note').value = '';
  dialog.returnValue = '';
  dialog.onclose = () => {
    if (dialog.returnValue !== 'confirm') return;
    if (needName) rememberOfficer($('action-name').value.trim());
    if (officer()) void perform(action, alarm, officer(), $('action-note').value.trim() || null);
  };
  dialog.showModal();
  (needName ? $('action-name') : $('action-note')).focus();
}

async function perform(action, alarm, by, note) {
  const current = session;
  const verb = action === 'ack' ? 'Acknowledge' : 'Resolve';
  busy.add(alarm.id);
  renderAlarms();
  try {
    const updated =
      action === 'ack' ? await current.client.acknowledge(alarm.id, by, note) : await current.client.resolve(alarm.id, by, note);
    if (session !== current) return;
    upsert(updated);
    notice(`${action === 'ack' ? 'Acknowledged' : 'Resolved'}: ${alarm.device} / ${alarm.rule}.`, 'info');
  } catch (error) {
    if (session !== current) return;
    refused(error, verb);
    if (error.status === 404 || error.status === 409) reloadAlarms(current).catch(() => undefined);
  } finally {
    busy.delete(alarm.id);
    if (session === current) renderAlarms();
  }
}

/** Says why the gateway refused, in the words a duty officer needs. */
function refused(error, what) {
  if (error.status === 401) {
    signOut('The gateway no longer accepts this token: sign in again.');
  } else if (error.status === 403) {
    $('readonly-tag').hidden = false;
    notice(`${what} refused: your token is read-only (viewer). An operator token is needed to acknowledge or resolve alarms.`);
  } else if (error.code === 'alarm_still_active') {
    notice(`${what} refused: ${error.message} (${error.code}). The condition is still active; resolve it once it has cleared.`);
  } else {
    notice(`${what} failed: ${error.message}${error.code ? ` (${error.code})` : ''}.`);
  }
}

// ---- session ----

function start(token) {
  const current = { client: createGatewayClient(token) };
  session = current;
  alarms.clear();
  closed.clear();
  busy.clear();
  $('event-log').replaceChildren();
  $('readonly-tag').hidden = true;
  $('notice').hidden = true;
  $('login').hidden = true;
  $('console').hidden = false;
  $('session').hidden = false;
  $('connection').dataset.state = 'connecting';
  $('console').dataset.feed = 'connecting';
  $('connection-text').textContent = 'connecting…';
  renderAlarms();
  current.closeStream = current.client.openStream({
    onEvent: (event) => session === current && onEvent(event),
    onGap: () => session === current && reloadAlarms(current).catch((error) => refused(error, 'Reloading alarms')),
    onState: (state) => {
      if (session !== current) return;
      setConnection(state);
      // After every (re)connection the list is fetched again: events missed meanwhile are in it.
      if (state === 'connected') reloadAlarms(current).catch((error) => refused(error, 'Loading alarms'));
    },
  });
  void loadDevices(current);
  current.timer = setInterval(() => loadDevices(current), DEVICE_POLL_MS);
}

function signOut(message = '') {
  if (session) {
    session.closeStream?.();
    clearInterval(session.timer);
  }
  session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('console').hidden = true;
  $('session').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-token').value = '';
  $('login-token').focus();
  document.title = 'Alarm console';
}

async function signIn(event) {
  event.preventDefault();
  const token = $('login-token').value.trim();
  const name = $('login-name').value.trim();
  $('login-error').textContent = '';
  try {
    await createGatewayClient(token).listOpenAlarms();
  } catch (error) {
    $('login-error').textContent =
      error.status === 401 ? 'This token is not accepted by the gateway.' : `Cannot sign in: ${error.message}.`;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  if (name) rememberOfficer(name);
  start(token);
}

function boot() {
  const name = localStorage.getItem(NAME_KEY) ?? '';
  $('officer-name').value = name;
  $('login-name').value = name;
  $('red-first').checked = localStorage.getItem(RED_FIRST_KEY) === 'true';
  $('red-first').addEventListener('change', () => {
    localStorage.setItem(RED_FIRST_KEY, String($('red-first').checked));
    renderAlarms();
  });
  $('officer-name').addEventListener('change', () => rememberOfficer(officer()));
  $('login-form').addEventListener('submit', signIn);
  $('logout').addEventListener('click', () => signOut());
  $('notice-close').addEventListener('click', () => ($('notice').hidden = true));
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) start(token);
  else signOut();
}

boot();
