// The console: sign-in (a user and password, or an API token), the open alarms kept live from the stream, the views
// by URL (#/alarms, #/history, #/alarms/{id}, #/devices, #/devices/{id}, #/wall, #/maintenance), actions, sound and flash.
import { openActionForm } from './action-forms.js';
import { mountAlarmDetail } from './alarm-detail.js';
import { mountAlarmList } from './alarm-list.js';
import { createAlarmSound } from './alarm-sound.js';
import { mountDeviceBoard, mountDeviceDetail } from './device-views.js';
import { createGatewayClient, credentialEnded, login, whoAmI } from './gateway-client.js';
import { alarmMessage, errorMeaning, failureText, lang, setLang, t, translateStatic } from './i18n.js';
import { mountMaintenance } from './maintenance-view.js';
import { feedKey, openSharedFeed } from './shared-feed.js';
import { eventLogEntry, h, may, noteLogEntry } from './views.js';
import { mountWall } from './wall-view.js';

const TOKEN_KEY = 'console.token'; // sessionStorage: gone when the tab closes
/**
 * sessionStorage, beside the token: the name this tab's shared token acts as. Per tab, as the token is: another tab
 * signed in with the same token for another officer must not change whose name this one records.
 */
const ACTING_KEY = 'console.actingAs';
const NAME_KEY = 'console.officer'; // localStorage: the name last typed, offered at the next token sign-in (not a secret)
/** While the gateway does not answer at start (a restart): tried again this often, doubling up to the most. */
const RESUME_RETRY_MIN_MS = 1_000;
const RESUME_RETRY_MAX_MS = 10_000;
const LOG_LIMIT = 200;
const CLOSED_LIMIT = 5_000;
const DEVICE_POLL_MS = 10_000;
const TICK_MS = 15_000;
const FLASH_MS = 6_000;
/**
 * While events stream in, the view and the title are brought up to date at most this often: a plant's network back
 * after an outage sends thousands in a second or two, and rebuilding the list of open alarms for each of them froze
 * the page for minutes (a list of n alarms built n times).
 */
const RENDER_EVERY_MS = 100;

const $ = (id) => document.getElementById(id);

/** Open alarms by id, each with the generation of its last change (to merge a list fetched meanwhile). */
const alarms = new Map();
/** Ids of alarms resolved while we watched: a list fetched before the resolution must not bring them back. */
const closed = new Set();
const busy = new Set();
let devices = [];
let generation = 0;
/** { client, user: { name, role, kind }, token, feed, timers } while signed in. */
let session = null;
/** The mounted view: { update?, devicesChanged?, onAlarm?, unmount? }. */
let view = null;
const eventLog = h('ol', { className: 'event-log', id: 'event-log', 'aria-live': 'polite' });

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

const openAlarms = () => [...alarms.values()].map((entry) => entry.alarm);

async function reloadAlarms(current) {
  const startedAt = generation;
  // every open alarm, a page at a time: past the API's page (10,000) the counts would stop short of the gateway's
  const list = await current.client.listEveryAlarm({ state: 'open' });
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
  changed();
}

let renderTimer = null;
/**
 * The list fetched again, and the view's own data (the alarm page's alarm): after the feed reconnected or said it
 * missed events, and after an action was refused as stale (404, 409) — else that page kept acting on what it showed.
 */
function resync(current) {
  reloadAlarms(current).catch((error) => refused(error, t('nav.alarms')));
  if (session === current) view?.resync?.();
}

/** Brings the view up to date within RENDER_EVERY_MS, once for all the events that arrive meanwhile. */
function changedSoon() {
  renderTimer ??= setTimeout(changed, RENDER_EVERY_MS);
}

function cancelRender() {
  clearTimeout(renderTimer);
  renderTimer = null;
}

function changed() {
  cancelRender();
  view?.update?.();
  const unacknowledged = openAlarms().filter((a) => !a.acknowledged).length;
  document.title = unacknowledged > 0 ? `(${unacknowledged}) ${t('app.title')}` : t('app.title');
}

// ---- attention: flash, banner, sound ----

/** A red alarm nobody has acknowledged (and no shelf holds): its beep comes again until someone does. */
const redWaiting = () => openAlarms().some((alarm) => alarm.severity === 'red' && !alarm.acknowledged && !alarm.shelved);
const sound = createAlarmSound({ bar: $('sound-off'), redWaiting });

let flashTimer = null;
function newRed(alarm) {
  document.body.classList.remove('flash');
  void document.body.offsetWidth; // restart the animation
  document.body.classList.add('flash');
  const banner = $('red-banner');
  banner.replaceChildren(
    h(
      'a',
      { href: `#/alarms/${encodeURIComponent(alarm.id)}` },
      t('alarms.newRed', { text: `${alarm.site} / ${alarm.device} — ${alarmMessage(alarm)}` }),
    ),
  );
  banner.hidden = false;
  sound.beep();
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => document.body.classList.remove('flash'), FLASH_MS);
}

// ---- notices ----

let noticeTimer = null;
/** kind: `info` (goes by itself), `error`, or `unreachable` (an error that is stale once the feed is back). */
function notice(text, kind = 'error') {
  clearTimeout(noticeTimer);
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = false;
  if (kind === 'info') noticeTimer = setTimeout(() => ($('notice').hidden = true), 6_000);
}

/** Says why a request failed: unreachable, the gateway's fault, or refused with the code's meaning. */
function refused(error, what) {
  if (credentialEnded(error)) return; // the client has signed the page out (start: onCredentialEnded)
  notice(failureText(error, what), error.status === 0 || error.status >= 500 ? 'unreachable' : 'error');
}

function log(entry) {
  eventLog.prepend(entry);
  while (eventLog.children.length > LOG_LIMIT) eventLog.lastElementChild.remove();
}

function setConnection(state) {
  const indicator = $('connection');
  if (indicator.dataset.state === state) return;
  const was = indicator.dataset.state;
  indicator.dataset.state = state;
  $('console').dataset.feed = state;
  $('connection-text').textContent = t(state === 'connected' ? 'conn.connected' : 'conn.reconnecting');
  if (state === 'connected') log(noteLogEntry(t(was === 'reconnecting' ? 'log.reconnected' : 'log.connected')));
  else log(noteLogEntry(t('log.lost')));
  // the gateway answers again: what it could not be reached for is past (the list is fetched again)
  if (state === 'connected' && $('notice').dataset.kind === 'unreachable') $('notice').hidden = true;
}

// ---- live feed and devices ----

function onEvent(event) {
  const alarm = event.data.alarm;
  upsert(alarm);
  view?.onAlarm?.(alarm);
  changedSoon();
  log(eventLogEntry(event));
  const wasRaisedRed = (event.type === 'alarm.raised' || event.type === 'alarm.escalated') && alarm.severity === 'red';
  if (wasRaisedRed) newRed(alarm);
}

async function loadDevices(current) {
  try {
    const list = await current.client.listDevices();
    if (session !== current) return;
    devices = list;
    view?.devicesChanged?.();
  } catch (error) {
    refused(error, t('nav.devices'));
  }
}

// ---- actions ----

/** The name a shared token acts as in this tab; a user acts as themself (the gateway records the user). */
const actingName = () => (session?.user.kind === 'user' ? session.user.name : (sessionStorage.getItem(ACTING_KEY) ?? '').trim());

const SENDERS = {
  ack: (client) => client.acknowledge,
  assign: (client) => client.assign,
  resolve: (client) => client.resolve,
  shelve: (client) => client.shelve,
  unshelve: (client) => client.unshelve,
};

/** A shared token remembers the name it acted as (a user acts as themself); the top bar shows it. */
function rememberActor(current, by) {
  if (!by || current.user.kind !== 'token') return;
  actAs(by);
  if (session === current) renderChrome();
}

/** This tab acts as `name` ('' : asked at each action); the name is offered at the next token sign-in. */
function actAs(name) {
  if (name) {
    sessionStorage.setItem(ACTING_KEY, name);
    localStorage.setItem(NAME_KEY, name);
  } else {
    sessionStorage.removeItem(ACTING_KEY);
    localStorage.removeItem(NAME_KEY);
  }
}

/** Runs `request` with the alarms `ids` shown busy (their buttons disabled) until it is answered. */
async function whileBusy(current, ids, request) {
  for (const id of ids) busy.add(id);
  changed();
  try {
    return await request();
  } finally {
    for (const id of ids) busy.delete(id);
    if (session === current) changed();
  }
}

function act(action, alarm) {
  const current = session;
  if (!current || !may(current.user.role, action)) return;
  const what = `${alarm.device} / ${alarm.rule}`;
  const done = (updated, by) => {
    rememberActor(current, by);
    if (session !== current) return;
    upsert(updated);
    view?.onAlarm?.(updated);
    changed();
    notice(t(`action.done.${action}`, { what }), 'info');
  };
  const send = (body) =>
    whileBusy(current, [alarm.id], async () => {
      try {
        // an acknowledgement or a resolution names the occurrence shown: a return the officer has not seen is refused
        // (alarm_reoccurred), not acknowledged or closed with a record written for the one before
        const seen = action === 'ack' || action === 'resolve' ? { occurrence: alarm.occurrences } : {};
        return await SENDERS[action](current.client)(alarm.id, { ...body, ...seen });
      } catch (error) {
        // what was shown is stale (gone, closed, come back): shown afresh, so the next try acts on what is
        if (error.status === 404 || error.status === 409) resync(current);
        throw error;
      }
    });
  const by = actingName();
  // Acknowledging takes one click; the other actions ask for what they record.
  if (action === 'ack' && (by || current.user.kind === 'user')) {
    send(current.user.kind === 'user' ? {} : { by }).then(
      (updated) => done(updated),
      (error) => refused(error, t('action.ack')),
    );
    return;
  }
  openActionForm({ action, alarm, needName: current.user.kind !== 'user' && !by, defaultName: by, send, done });
}

/**
 * Acknowledges or resolves the alarms checked in the list: one form (for resolving, one disposal record for all), one
 * request; each alarm is acted on as alone, and what could not be is said.
 */
function actMany(action, list) {
  const current = session;
  if (!current || !may(current.user.role, action) || list.length === 0) return;
  const ids = list.map((alarm) => alarm.id);
  // each names the occurrence shown: a return the officer has not seen is refused (alarm_reoccurred)
  const seen = new Map(list.map((alarm) => [alarm.id, alarm.occurrences]));
  const send = (body) => whileBusy(current, ids, () => current.client.actOnMany(action, ids, body, seen));
  const done = (answer, by) => {
    rememberActor(current, by);
    if (session !== current) return;
    for (const result of answer.results) if (result.ok) upsert(result.alarm);
    changed();
    const failed = answer.results.filter((result) => !result.ok);
    const text = t(`action.doneMany.${action}`, { n: answer.done });
    if (failed.length === 0) notice(text, 'info');
    else {
      // each distinct reason once, in words (the code beside it)
      const reasons = [...new Set(failed.map((result) => result.error))].map((code) => `${errorMeaning({ code })} (${code})`).join(' · ');
      notice(`${text} ${t('action.notDone', { n: failed.length, reasons })}`);
      resync(current);
    }
  };
  const by = actingName();
  // Always a form, also to acknowledge: one click must not act on a thousand alarms.
  openActionForm({
    action,
    // a draft (a disposal typed, then cancelled) comes back only for the same alarms
    subject: { key: `${action}:${[...ids].sort().join(',')}`, text: t('bulk.subject', { n: ids.length }) },
    needName: current.user.kind !== 'user' && !by,
    defaultName: by,
    send,
    done,
  });
}

// ---- views ----

function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [section, id] = [hash.split('/')[0] || 'alarms', hash.split('/').slice(1).join('/')];
  return { section, id };
}

function mountView() {
  if (!session) return;
  view?.unmount?.();
  const { section, id } = route();
  const container = $('view');
  const ctx = {
    client: session.client,
    user: session.user,
    openAlarms,
    devices: () => devices,
    act,
    actMany,
    busy: (alarmId) => busy.has(alarmId),
    refused,
    notice,
    actingName,
    rememberName: (by) => session && rememberActor(session, by),
  };
  document.body.classList.toggle('wall-mode', section === 'wall');
  for (const link of document.querySelectorAll('nav a'))
    link.classList.toggle('current', link.dataset.section === (section === 'alarms' && id ? 'alarms' : section));
  if (section === 'alarms' && id) view = mountAlarmDetail(container, ctx, id);
  else if (section === 'history') view = mountAlarmList(container, ctx, 'history');
  else if (section === 'devices' && id) view = mountDeviceDetail(container, ctx, id);
  else if (section === 'devices') view = mountDeviceBoard(container, ctx);
  else if (section === 'wall') view = mountWall(container, ctx);
  else if (section === 'maintenance') view = mountMaintenance(container, ctx, id);
  else {
    view = mountAlarmList(container, ctx, 'open');
    container.append(h('section', { className: 'log card' }, h('h2', {}, t('live.title')), eventLog));
  }
  changed();
}

function renderChrome() {
  translateStatic();
  $('lang-switch').textContent = t('lang.switch');
  if (session) {
    $('user-name').textContent = session.user.name;
    // a shared token: whose name its actions are recorded under, in sight (a name left from the shift before would not be)
    const acting = session.user.kind === 'token' ? actingName() : '';
    $('acting').hidden = session.user.kind !== 'token';
    $('acting').textContent = acting ? t('session.actingAs', { name: acting }) : t('session.actingAsked');
    $('user-role').textContent = t(`role.${session.user.role}`);
    $('user-role').dataset.role = session.user.role;
    $('readonly-tag').hidden = session.user.role !== 'viewer';
    const state = $('connection').dataset.state;
    $('connection-text').textContent = t(
      state === 'connected' ? 'conn.connected' : state === 'reconnecting' ? 'conn.reconnecting' : 'conn.connecting',
    );
  }
  document.title = t('app.title');
}

// ---- session ----

function start(user, token) {
  const current = { user, token, timers: [], checking: null };
  // a 401 to any request (the stream's too: alarm-stream.js asks when it loses the connection) ends the session
  current.client = createGatewayClient(token, { onCredentialEnded: () => session === current && signOut(t('session.ended')) });
  const checked = () => {
    current.checking = null;
  };
  session = current;
  alarms.clear();
  closed.clear();
  busy.clear();
  devices = [];
  eventLog.replaceChildren();
  $('notice').hidden = true;
  $('red-banner').hidden = true;
  $('resuming').hidden = true;
  $('login').hidden = true;
  $('console').hidden = false;
  $('session').hidden = false;
  $('connection').dataset.state = 'connecting';
  $('console').dataset.feed = 'connecting';
  renderChrome();
  mountView();
  // one stream for the browser's tabs of this credential, held by one of them (shared-feed.js)
  current.feed = openSharedFeed({
    key: feedKey(token),
    open: (handlers) => current.client.openStream(handlers),
    onEvent: (event) => session === current && onEvent(event),
    onGap: () => session === current && resync(current),
    onState: (state) => {
      if (session !== current) return;
      setConnection(state);
      // After every (re)connection the list (and the alarm page's alarm) is fetched again: what changed meanwhile is in it.
      if (state === 'connected') resync(current);
    },
    onRole: (role) => {
      if (session === current) $('connection').dataset.stream = role;
    },
    // another tab signed out: asked whether this tab's credential still admits (its 401 signs this one out too)
    onSignedOutElsewhere: () => {
      if (session === current) current.checking ??= current.client.whoAmI().then(checked, checked);
    },
  });
  sound.start();
  void loadDevices(current);
  current.timers.push(setInterval(() => loadDevices(current), DEVICE_POLL_MS));
  // the clock: a view that can bring its times up to date in place does (a rebuild would take the keyboard focus)
  current.timers.push(setInterval(() => (view?.tick ? view.tick() : view?.update?.()), TICK_MS));
}

/**
 * Back to the sign-in screen, `message` on it: the officer's Sign out (no message), or the gateway no longer admits
 * the credential. Nothing of the session stays in sight (the list, the banner of a red alarm, the count in the title)
 * and the tab's token is forgotten. The other tabs of the credential are told: they ask the gateway whether it ended
 * for them as well (a session signed out of, or refused, has; a tab's own token signed out of has not).
 */
function signOut(message = '') {
  const ending = session;
  if (ending) {
    ending.feed.stop();
    for (const timer of ending.timers) clearInterval(timer);
    if (ending.user.kind === 'user' && !message) ending.client.logout().then(ending.feed.signedOut, ending.feed.signedOut);
    else if (message) ending.feed.signedOut();
  }
  view?.unmount?.();
  view = null;
  session = null;
  cancelRender(); // a burst's render still to come would count the signed-out alarms in the title
  clearTimeout(resumeTimer);
  clearTimeout(flashTimer);
  alarms.clear();
  closed.clear();
  busy.clear();
  eventLog.replaceChildren();
  $('view').replaceChildren();
  $('red-banner').hidden = true;
  document.body.classList.remove('flash');
  delete $('connection').dataset.stream;
  sound.stop();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ACTING_KEY);
  $('action-dialog').close();
  $('console').hidden = true;
  $('session').hidden = true;
  $('resuming').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('login-password').value = '';
  $('login-token').value = '';
  document.body.classList.remove('wall-mode');
  renderChrome();
  $('login-user').focus();
}

async function signInWithPassword(event) {
  event.preventDefault();
  sound.unlock();
  const name = $('login-user').value.trim();
  $('login-error').textContent = '';
  try {
    const answer = await login(name, $('login-password').value);
    start(answer.user, null);
  } catch (error) {
    $('login-error').textContent =
      error.code === 'login_failed'
        ? t('login.failed')
        : error.code === 'rate_limited'
          ? t('login.rateLimited')
          : t('login.cannot', { message: errorMeaning(error) });
  }
}

async function signInWithToken(event) {
  event.preventDefault();
  sound.unlock();
  const token = $('login-token').value.trim();
  const name = $('login-token-name').value.trim();
  $('login-error').textContent = '';
  try {
    const { user } = await whoAmI(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    // always written: a field left empty must not leave the previous officer's name to record this one's actions
    actAs(name);
    start(user, token);
  } catch (error) {
    $('login-error').textContent = error.status === 401 ? t('login.badToken') : t('login.cannot', { message: errorMeaning(error) });
  }
}

async function boot() {
  setLang(lang());
  renderChrome();
  $('login-form').addEventListener('submit', signInWithPassword);
  $('token-form').addEventListener('submit', signInWithToken);
  $('login-token-name').value = localStorage.getItem(NAME_KEY) ?? '';
  $('logout').addEventListener('click', () => signOut());
  $('notice-close').addEventListener('click', () => ($('notice').hidden = true));
  $('red-banner').addEventListener('click', () => ($('red-banner').hidden = true));
  $('lang-switch').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    renderChrome();
    mountView();
  });
  document.addEventListener('click', () => sound.unlock());
  window.addEventListener('hashchange', mountView);
  resume(sessionStorage.getItem(TOKEN_KEY));
}

let resumeTimer = null;
/**
 * A session cookie or a token of this tab: signed in already. Only the gateway's 401 (or another refusal) ends it; a
 * gateway that does not answer (restarting, the network down) is waited for, the token kept: a reload during a
 * restart signed the officer out and erased the token before.
 */
async function resume(token, delay = RESUME_RETRY_MIN_MS) {
  clearTimeout(resumeTimer);
  try {
    const { user } = await whoAmI(token);
    start(user, token);
  } catch (error) {
    const unanswered = error.status === 0 || error.status >= 500 || error.status === 429;
    if (!unanswered) return signOut(token ? t('session.ended') : '');
    $('login').hidden = true;
    $('resuming').hidden = false;
    resumeTimer = setTimeout(() => resume(token, Math.min(delay * 2, RESUME_RETRY_MAX_MS)), delay);
  }
}

boot();
