// One live stream for all the console's tabs of a browser signed in with the same credential. A browser opens at most
// six connections to a gateway over HTTP/1.1: a stream per tab left a seventh tab's requests waiting until they failed.
// One tab, elected (tab-election.js), holds the stream and relays it over a BroadcastChannel; the others open none.
import { electLeader } from './tab-election.js';

/** A follower that has heard nothing from the leader this long asks whether it is there… */
const PING_AFTER_MS = 2_000;
/**
 * …and without an answer this long after asking takes the stream over (the leader's tab hangs). Asked
 * first, then waited for: a tab in the background, whose timers the browser runs once a minute, asks on waking rather
 * than taking a minute's quiet for a dead leader.
 */
const ANSWER_WITHIN_MS = 5_000;
/** A random part of that wait, so that of several followers one takes over and the others hear it has. */
const ANSWER_JITTER_MS = 2_000;

/**
 * The name of the tabs' channel and lock for a credential: the session cookie (one per browser), or the tab's token —
 * hashed (FNV-1a, 64 bits), so that the token is not spelt out in a name the browser lists.
 */
export function feedKey(token) {
  if (!token) return 'console.feed.session';
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(token)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return `console.feed.token-${hash.toString(36)}`;
}

/** Whether cursor `a` comes after cursor `b` (decimal strings of the gateway's increasing cursor). */
const isAfter = (a, b) => (a.length !== b.length ? a.length > b.length : a > b);

/**
 * The alarm stream as every tab of `key` sees it: `open({ from, onEvent, onGap, onState })` opens the real one (in the
 * leader's tab only), resuming after the last event this tab has seen. Handlers, as the stream's own: onEvent(event),
 * onGap(), onState('connected' | 'reconnecting'); besides onRole('leader' | 'follower') and onSignedOutElsewhere()
 * (another tab of this credential signed out: it may have ended for this one too).
 *
 * Each event is relayed with the cursor of the one before it, so a follower that missed one (a relay lost with a
 * leader's tab, a tab asleep) fetches the list again, as on the stream's `gap`; one it has already had is not shown
 * twice. A follower shows the leader's state, and fetches the list when it becomes connected, as the tab holding a
 * stream does after each (re)connection; a new leader resumes at the last cursor it has seen.
 * Answers `{ signedOut(), stop() }`: `signedOut()` tells the other tabs of `key` this one signed out.
 */
export function openSharedFeed({ key, open, onEvent, onGap, onState, onRole, onSignedOutElsewhere }) {
  const channel = new BroadcastChannel(key);
  const post = (message) => channel.postMessage(message);
  let leading = false;
  let closeStream = null;
  /** The cursor of the last event shown, relayed or received. */
  let lastId = null;
  let state = 'connecting';
  /** When the leader was last heard, and when this tab asked it (until it is heard again). */
  let heardAt = Date.now();
  let askedAt = null;
  let stopped = false;

  const setState = (next) => {
    if (state === next) return;
    state = next;
    onState(next);
  };
  const announceState = () => post({ kind: 'state', state, id: lastId });

  /**
   * Shows an event once, however it came: relayed, or on this tab's own stream (for a moment two tabs may hold one,
   * while a leader that stopped answering is replaced). Answers whether it was new. A follower connected to a leader
   * whose relay does not follow the last it showed missed one: the list is fetched again.
   */
  const show = (id, after, event) => {
    if (lastId !== null && id !== null && !isAfter(id, lastId)) return false;
    if (!leading && state === 'connected' && after !== lastId) onGap();
    lastId = id;
    onEvent(event);
    return true;
  };

  const lead = () => {
    leading = true;
    onRole('leader');
    // the stream moves to this tab: down until its own connection stands
    if (state === 'connected') setState('reconnecting');
    announceState();
    closeStream = open({
      from: lastId,
      onEvent: (event, id) => {
        const after = lastId;
        if (show(id, after, event)) post({ kind: 'event', id, after, event });
      },
      onGap: () => {
        post({ kind: 'gap' });
        onGap();
      },
      onState: (next) => {
        setState(next);
        announceState();
      },
    });
  };
  const follow = () => {
    leading = false;
    closeStream?.();
    closeStream = null;
    onRole('follower');
    heardAt = Date.now();
    askedAt = null;
    post({ kind: 'hello' });
  };

  /** What the leader says, to a follower. */
  const heard = (message) => {
    heardAt = Date.now();
    askedAt = null;
    if (message.kind === 'event') {
      show(message.id, message.after, message.event);
    } else if (message.kind === 'gap') {
      onGap();
    } else if (message.kind === 'state') {
      if (message.state === 'connected' && state !== 'connected') {
        // connected: the list is fetched again (onState), holding all that came before the leader's cursor
        if (message.id !== null && (lastId === null || isAfter(message.id, lastId))) lastId = message.id;
        setState('connected');
      } else if (message.state === 'connected') {
        if (message.id !== null && (lastId === null || isAfter(message.id, lastId))) {
          lastId = message.id;
          onGap(); // the leader is further on than this tab got: fetched again
        }
      } else if (message.state === 'reconnecting') {
        setState('reconnecting');
      }
    }
  };

  channel.onmessage = ({ data: message }) => {
    if (stopped) return;
    if (message.kind === 'hello' || message.kind === 'ping') {
      if (leading) announceState();
    } else if (message.kind === 'signed-out') {
      onSignedOutElsewhere();
    } else if (!leading) {
      heard(message);
    } else if (message.kind === 'event') {
      // another tab still holds a stream too, for a moment: an event this one has not had yet is shown all the same
      show(message.id, message.after, message.event);
    }
  };

  const election = electLeader(key, { onLead: lead, onDepose: follow });
  const answerWithin = ANSWER_WITHIN_MS + Math.random() * ANSWER_JITTER_MS;
  const watch = setInterval(() => {
    if (leading) return;
    const now = Date.now();
    if (askedAt === null) {
      if (now - heardAt < PING_AFTER_MS) return;
      askedAt = now;
      post({ kind: 'ping' });
    } else if (now - askedAt >= answerWithin) {
      // nobody answers: not live any more, and this tab takes the stream over
      askedAt = null;
      heardAt = now;
      setState('reconnecting');
      election.takeOver();
    }
  }, PING_AFTER_MS / 2);
  onRole('follower');
  post({ kind: 'hello' });

  return {
    // (also once stopped: a session signed out of is said to have ended once the gateway has answered the sign-out)
    signedOut() {
      const once = new BroadcastChannel(key);
      once.postMessage({ kind: 'signed-out' });
      once.close();
    },
    stop() {
      stopped = true;
      clearInterval(watch);
      closeStream?.();
      closeStream = null;
      election.stop();
      channel.close();
    },
  };
}
