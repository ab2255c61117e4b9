// Talking to the gateway: the session API (a cookie), the JSON API of contract §6 and its additions, the live stream.
// Signed in with a user name and password the browser carries the session cookie; with an API token (the other way
// in) every request carries it as a bearer token.
import { openAlarmStream } from './alarm-stream.js';

/** A refused request: HTTP status, the API's error code, its message and (validation_failed) each problem's path. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * How long a request may wait for its answer. Without a limit a request the network swallowed (a gateway restarting
 * behind a proxy, a dead Wi-Fi) kept its buttons busy forever; ended, it is a `network` error the officer is told of.
 */
const ANSWER_WITHIN_MS = 15_000;
/** The long ones: a page of 10,000 alarms, a CSV of up to 100,000, 1,000 alarms acted on in one request. */
const LONG_ANSWER_WITHIN_MS = 60_000;

/** Not reached, or no answer in time: the gateway is unreachable (not a refusal; a retry may help). */
const unreachable = () => new ApiError(0, 'network', 'the gateway cannot be reached');

async function call(method, path, { body, token, as = 'json', within = ANSWER_WITHIN_MS } = {}) {
  // One signal for the whole exchange: a body that stops half-way ends the request as well as silence before it.
  const signal = AbortSignal.timeout(within);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        accept: as === 'json' ? 'application/json' : 'text/csv',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch {
    throw unreachable();
  }
  if (response.ok && as === 'text') {
    try {
      return await response.text();
    } catch {
      throw unreachable();
    }
  }
  const cutOff = Symbol('cut off');
  const payload = await response.json().catch(() => (signal.aborted ? cutOff : null));
  if (payload === cutOff) throw unreachable();
  if (!response.ok) {
    const error = payload?.error;
    throw new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? `HTTP ${response.status}`,
      Array.isArray(error?.details) ? error.details : null,
    );
  }
  return payload;
}

/** Logs in with a user name and password: the gateway sets the session cookie. Answers `{ user, expiresAt }`. */
export const login = (name, password) => call('POST', '/auth/login', { body: { name, password } });

/** Who the caller is (`{ user: { name, role, kind } }`): with the session cookie, or with `token`. */
export const whoAmI = (token) => call('GET', '/auth/session', { token });

/**
 * The gateway no longer admits the credential (the session ended or expired, the token was revoked, the user removed
 * or given a new password). Not a wrong password (`login_failed`, also 401), not a 403 (the role may not do this).
 */
export const credentialEnded = (error) => error?.status === 401 && error.code !== 'login_failed';

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, value);
  return search.toString();
};

/** Alarms one request of `POST /api/alarms/{ack,resolve}` may name (the gateway's MAX_BULK_ALARMS). */
const BULK_LIMIT = 1_000;
/** The most alarms `GET /api/alarms` answers at once: more come a page at a time, each after the `next` of the last. */
const LIST_PAGE = 10_000;

/**
 * The API for one signed-in caller (token: null with a session cookie). Any of its requests answered 401 calls
 * `onCredentialEnded()` (and still fails): whichever part of the page asked, the page signs out.
 */
export function createGatewayClient(token, { onCredentialEnded = () => undefined } = {}) {
  const ask = (method, path, options) =>
    call(method, path, { ...options, token }).catch((error) => {
      if (credentialEnded(error)) onCredentialEnded();
      throw error;
    });
  const request = (method, path, body, within) => ask(method, path, { body, within });
  const session = () => request('GET', '/auth/session');
  const alarmPath = (id, action) => `/api/alarms/${encodeURIComponent(id)}/${action}`;
  return {
    logout: () => request('POST', '/auth/logout'),
    /** Who the caller is: asked to learn whether the credential still admits (a 401 ends the session). */
    whoAmI: session,
    listAlarms: (params) => request('GET', `/api/alarms?${query(params)}`),
    /** Every alarm that matches, however many: the pages of `GET /api/alarms` one after another (keyset: none twice). */
    async listEveryAlarm(params) {
      const alarms = [];
      let after;
      do {
        const page = await request('GET', `/api/alarms?${query({ ...params, limit: LIST_PAGE, after })}`, undefined, LONG_ANSWER_WITHIN_MS);
        alarms.push(...page.alarms);
        after = page.alarms.length > 0 ? page.next : null;
      } while (after);
      return alarms;
    },
    /** The CSV as the gateway wrote it: fetch's text() drops its byte-order mark (UTF-8 decoding does), put back for Excel. */
    alarmsCsv: (params) =>
      ask('GET', `/api/alarms.csv?${query(params)}`, { as: 'text', within: LONG_ANSWER_WITHIN_MS }).then((csv) =>
        csv.startsWith('\uFEFF') ? csv : `\uFEFF${csv}`,
      ),
    alarm: (id) => request('GET', `/api/alarms/${encodeURIComponent(id)}`),
    acknowledge: (id, body) => request('POST', alarmPath(id, 'ack'), body).then((answer) => answer.alarm),
    assign: (id, body) => request('POST', alarmPath(id, 'assign'), body).then((answer) => answer.alarm),
    resolve: (id, body) => request('POST', alarmPath(id, 'resolve'), body).then((answer) => answer.alarm),
    /**
     * `ack` or `resolve` on many alarms, BULK_LIMIT a request: `{ results: [{ id, ok, error?, alarm? }], done, failed }`.
     * A request refused after others were done does not hide what they did: its alarms are answered with its code.
     * `seen` (optional): a Map of each alarm's `occurrences` shown, sent as the body's `occurrences`.
     */
    async actOnMany(action, ids, body, seen) {
      const answer = { results: [], done: 0, failed: 0 };
      for (let start = 0; start < ids.length; start += BULK_LIMIT) {
        const part = ids.slice(start, start + BULK_LIMIT);
        const occurrences = seen && Object.fromEntries(part.filter((id) => seen.has(id)).map((id) => [id, seen.get(id)]));
        try {
          const done = await request(
            'POST',
            `/api/alarms/${action}`,
            { ...body, ids: part, ...(occurrences ? { occurrences } : {}) },
            LONG_ANSWER_WITHIN_MS,
          );
          answer.results.push(...done.results);
          answer.done += done.done;
          answer.failed += done.failed;
        } catch (error) {
          if (start === 0) throw error; // nothing done yet: the form shows the refusal
          for (const id of ids.slice(start)) answer.results.push({ id, ok: false, error: error.code ?? 'request_failed' });
          answer.failed += ids.length - start;
          break;
        }
      }
      return answer;
    },
    shelve: (id, body) => request('POST', alarmPath(id, 'shelve'), body).then((answer) => answer.alarm),
    unshelve: (id, body) => request('POST', alarmPath(id, 'unshelve'), body).then((answer) => answer.alarm),
    listShelves: (state) => request('GET', `/api/shelves?${query({ state })}`).then((answer) => answer.shelves),
    declareWindow: (body) => request('POST', '/api/shelves', body).then((answer) => answer.shelf),
    endShelf: (id, body) => request('POST', `/api/shelves/${encodeURIComponent(id)}/end`, body).then((answer) => answer.shelf),
    listDevices: () => request('GET', '/api/devices').then((answer) => answer.devices),
    trend: (device, params) => request('GET', `/api/devices/${encodeURIComponent(device)}/trend?${query(params)}`),
    /** The live stream (alarm-stream.js), resuming after `from`; a lost connection asks `whoAmI` whether it was a 401. */
    openStream: ({ from, onEvent, onGap, onState }) => openAlarmStream({ token, from, check: session, onEvent, onGap, onState }),
  };
}
