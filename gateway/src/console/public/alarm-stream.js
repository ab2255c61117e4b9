// The alarm stream (SSE) of the tab that holds the live feed for the others (shared-feed.js).

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 15_000;

/**
 * The alarm stream. EventSource cannot send headers: it carries the session cookie, or the token as
 * `?access_token=`. While the connection stands, EventSource reconnects by itself and resumes with Last-Event-ID;
 * when it gives up (the gateway restarted or answered an error) a new one is opened with backoff, resuming at the
 * last cursor seen (`?lastEventId=`; at first `from`, the last event the tab has shown).
 *
 * EventSource cannot read a status: a 401 looks like a 502 or a dropped connection. The gateway ends the stream of a
 * credential that no longer admits (a session ended, a token revoked, the user removed), so when the connection is
 * lost, and before each new one after EventSource gave up, `check()` asks the gateway who the caller is: its 401 is
 * the caller's to turn into a sign-out (which closes this stream), anything else is waited out as before.
 * Handlers: onEvent(event, id), onGap(), onState('connected' | 'reconnecting'). Answers a function that closes it.
 */
export function openAlarmStream({ token, from = null, check, onEvent, onGap, onState }) {
  let source = null;
  let lastEventId = from;
  let retryTimer = null;
  let delay = RECONNECT_MIN_MS;
  let open = false;
  let stopped = false;

  const retry = () => {
    if (stopped) return;
    retryTimer = setTimeout(connect, delay);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  };

  const connect = () => {
    const params = new URLSearchParams(token ? { access_token: token } : {});
    if (lastEventId !== null) params.set('lastEventId', lastEventId);
    source = new EventSource(`/api/alarms/stream?${params}`);
    source.onopen = () => {
      open = true;
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
      if (event?.data?.alarm?.id) onEvent(event, message.lastEventId || null);
    };
    source.addEventListener('gap', () => onGap());
    source.onerror = () => {
      const lost = open;
      open = false;
      onState('reconnecting');
      if (stopped) return;
      if (source.readyState !== EventSource.CLOSED) {
        // EventSource tries again by itself; the gateway may have ended the stream because the credential ended
        if (lost) check().catch(() => undefined);
        return;
      }
      // EventSource gave up (an error status: 401, a proxy's 502 …): asked which, then tried again unless signed out
      check().then(retry, retry);
    };
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    source?.close();
  };
}
