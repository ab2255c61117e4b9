// Talking to the gateway: the JSON API of contract §6 with a bearer token, and the live alarm stream.

/** A refused request: HTTP status, the API's error code and its message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 15_000;

export function createGatewayClient(token) {
  async function request(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'network', 'the gateway cannot be reached');
    }
    const payload = await response.json().catch(() => null);
    if (!response.ok) {
      const error = payload?.error;
      throw new ApiError(response.status, error?.code ?? `http_${response.status}`, error?.message ?? `HTTP ${response.status}`);
    }
    return payload;
  }

  const act = (action) => (id, by, note) =>
    request('POST', `/api/alarms/${encodeURIComponent(id)}/${action}`, note ? { by, note } : { by }).then((body) => body.alarm);

  return {
    listOpenAlarms: () => request('GET', '/api/alarms?state=open').then((body) => body.alarms),
    listDevices: () => request('GET', '/api/devices').then((body) => body.devices),
    acknowledge: act('ack'),
    resolve: act('resolve'),
    openStream: (handlers) => openAlarmStream(token, handlers),
  };
}

/**
 * The alarm stream. EventSource cannot send headers, so the token travels as `?access_token=`. While the
 * connection stands, EventSource reconnects by itself and resumes with Last-Event-ID; when it gives up
 * (the gateway restarted or answered an error) a new one is opened with backoff, resuming at the last
 * cursor seen (`?lastEventId=`). Handlers: onEvent(event), onGap(), onState('connected' | 'reconnecting').
 */
function openAlarmStream(token, { onEvent, onGap, onState }) {
  let source = null;
  let lastEventId = null;
  let retryTimer = null;
  let delay = RECONNECT_MIN_MS;
  let stopped = false;

  const connect = () => {
    const query = new URLSearchParams({ access_token: token });
    if (lastEventId !== null) query.set('lastEventId', lastEventId);
    source = new EventSource(`/api/alarms/stream?${query}`);
    source.onopen = () => {
      delay = RECONNECT_MIN_MS;
      onState('connected');
    };
    source.onmessage = (message) => {
      if (message.lastEventId) lastEventId = message.lastEventId;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event?.data?.alarm?.id) onEvent(event);
    };
    source.addEventListener('gap', () => onGap());
    source.onerror = () => {
      onState('reconnecting');
      if (source.readyState !== EventSource.CLOSED || stopped) return;
      retryTimer = setTimeout(connect, delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    };
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    source?.close();
  };
}
