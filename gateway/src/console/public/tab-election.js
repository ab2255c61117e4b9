// Which one of the browser's tabs does a job for all of them (shared-feed.js: holds the live stream), another taking
// over when it closes. With the Web Locks API where the browser offers it — a secure context: https, or http to
// localhost — else (the console opened over plain http at the gateway's address) by claims over a BroadcastChannel.

/** Without Web Locks: a tab that hears of no leader this long after it starts claims; a random part keeps tabs apart. */
const CLAIM_AFTER_MS = 1_000;
const CLAIM_JITTER_MS = 500;
/** … and after the leader resigned (its tab closed), sooner. */
const RESIGNED_JITTER_MS = 300;

/**
 * Elects one tab of the browser for `name`. `onLead()` when this tab becomes the leader; `onDepose()` when it stops
 * being it while still running (another tab took over: see `takeOver`). Answers `{ takeOver(), stop() }`:
 * `takeOver()` makes this tab the leader now (the leader has stopped answering: its tab hangs);
 * `stop()` leaves the election (and gives up the lead without `onDepose`).
 */
export function electLeader(name, { onLead, onDepose }) {
  return navigator.locks ? lockElection(name, onLead, onDepose) : claimElection(name, onLead, onDepose);
}

/**
 * The leader holds an exclusive Web Lock until it stops; the other tabs wait for it in a queue. The browser gives it
 * to the next when the leader's tab closes or crashes; `takeOver` steals it (the holder's request fails: deposed).
 */
function lockElection(name, onLead, onDepose) {
  let stopped = false;
  let leading = false;
  /** Aborts this tab's request waiting in the queue. */
  let waiting = null;
  /** Gives up the hold in force (the latest: a steal may grant this tab the lock it already held). */
  let release = null;

  const request = (options) => {
    let hold = null;
    const ended = () => {
      // never held (aborted while waiting: stop or takeOver), or a later hold of this tab's is in force
      if (hold === null || release !== hold) return;
      release = null;
      leading = false;
      if (stopped) return;
      onDepose(); // stolen
      queue();
    };
    navigator.locks
      .request(name, options, () => {
        if (stopped) return undefined;
        return new Promise((resolve) => {
          hold = resolve;
          release?.();
          release = resolve;
          if (leading) return;
          leading = true;
          onLead();
        });
      })
      .then(ended, ended);
  };
  const queue = () => {
    waiting?.abort();
    waiting = new AbortController();
    request({ signal: waiting.signal });
  };

  queue();
  return {
    takeOver() {
      if (stopped || leading) return;
      waiting?.abort();
      waiting = null;
      request({ steal: true });
    },
    stop() {
      stopped = true;
      waiting?.abort();
      release?.();
    },
  };
}

/**
 * Claims over a BroadcastChannel (`<name>.election`). A tab asks who leads; hearing nobody, it claims with a term one
 * above any it has heard; of two leaders the higher term stays (equal: the lower id), so a claim made because the
 * leader stopped answering wins over it. A leader answers every ask and resigns when its tab goes away.
 */
function claimElection(name, onLead, onDepose) {
  const channel = new BroadcastChannel(`${name}.election`);
  const me = [...crypto.getRandomValues(new Uint32Array(2))].map((n) => n.toString(36)).join('-');
  /** The highest term heard. */
  let term = 0;
  /** { id, term } of the leader this tab knows (itself while leading), or null. */
  let leader = null;
  let leading = false;
  let claimTimer = null;
  let stopped = false;

  const stays = (a, b) => (a.term !== b.term ? a.term > b.term : a.id < b.id);
  const announce = () => channel.postMessage({ kind: 'leader', id: me, term: leader.term });
  const claim = () => {
    if (stopped || leading) return;
    term += 1;
    leader = { id: me, term };
    leading = true;
    announce();
    onLead();
  };
  const claimUnlessLed = (after) => {
    clearTimeout(claimTimer);
    claimTimer = setTimeout(() => leader === null && claim(), after);
  };
  const resign = () => {
    if (leading) channel.postMessage({ kind: 'resign', id: me });
    leading = false;
    leader = null;
  };

  channel.onmessage = ({ data: message }) => {
    if (stopped) return;
    if (message.kind === 'ask') {
      if (leading) announce();
    } else if (message.kind === 'resign') {
      if (leader?.id !== message.id) return;
      leader = null;
      claimUnlessLed(Math.random() * RESIGNED_JITTER_MS);
    } else if (message.kind === 'leader') {
      const other = { id: message.id, term: message.term };
      term = Math.max(term, other.term);
      if (leader !== null && leader.id !== other.id && stays(leader, other)) {
        if (leading) announce(); // the other steps down when it hears this
        return;
      }
      const deposed = leading;
      leader = other;
      leading = false;
      if (deposed) onDepose();
    }
  };

  const join = () => {
    channel.postMessage({ kind: 'ask' });
    claimUnlessLed(CLAIM_AFTER_MS + Math.random() * CLAIM_JITTER_MS);
  };
  // a tab closing tells the others at once (a crashed one is noticed by the caller: takeOver)
  const left = () => {
    const was = leading;
    resign();
    if (was) onDepose();
  };
  const back = (event) => event.persisted && !stopped && join();
  addEventListener('pagehide', left);
  addEventListener('pageshow', back);
  join();
  return {
    takeOver() {
      leader = null;
      claim();
    },
    stop() {
      stopped = true;
      clearTimeout(claimTimer);
      removeEventListener('pagehide', left);
      removeEventListener('pageshow', back);
      resign();
      channel.close();
    },
  };
}
