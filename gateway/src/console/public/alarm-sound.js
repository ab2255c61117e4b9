// The sound of red alarms: two short beeps made with WebAudio (no sound file to load). Browsers keep a page silent
// until a user's gesture on it, and a reloaded page or a restored session has had none: the page would stay mute with
// nothing saying so. While it is silent a bar says so and a click anywhere turns the sound on; while a red alarm waits
// unacknowledged the beep comes again, so one missed (the officer away, the sound off) is not the only one.

/** Silent this long before the bar says so: a context resumed on a click is 'suspended' for a moment first. */
const SILENT_SHOWN_AFTER_MS = 1_000;
/** At most one beep in this time: a burst of red alarms beeps once (played together they would sum into a roar). */
const BEEP_EVERY_MS = 10_000;
/** A red alarm nobody has acknowledged beeps again after this long. */
const REMIND_EVERY_MS = 30_000;
const REMIND_CHECK_MS = 5_000;

/**
 * `bar`: the element shown while the page is silent. `redWaiting()`: whether a red alarm waits to be acknowledged.
 * Answers `{ unlock, beep, start, stop }`: `unlock` on every user gesture; `start` and `stop` with the session.
 */
export function createAlarmSound({ bar, redWaiting }) {
  let audio = null;
  let lastBeep = Number.NEGATIVE_INFINITY;
  let reminder = null;

  let showing = null;
  const running = () => audio?.state === 'running';
  const silent = () => reminder !== null && !running();
  /** Hides the bar at once when the sound runs (or the session ended); shows it once silent for a while. */
  const showState = () => {
    clearTimeout(showing);
    if (!silent()) bar.hidden = true;
    else showing = setTimeout(() => (bar.hidden = !silent()), SILENT_SHOWN_AFTER_MS);
  };

  /** Creates or resumes the AudioContext: on a gesture it starts; without one it may stay suspended (the bar shows). */
  function unlock() {
    try {
      if (!audio) {
        audio = new AudioContext();
        audio.addEventListener('statechange', showState);
      }
      if (audio.state === 'suspended') audio.resume().then(showState, showState);
    } catch {
      audio = null;
    }
    showState();
  }

  /** Two short beeps (none while silent, none within BEEP_EVERY_MS of the last). */
  function beep() {
    if (!running()) return;
    if (performance.now() - lastBeep < BEEP_EVERY_MS) return;
    lastBeep = performance.now();
    for (const at of [0, 0.25]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = 'square';
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.2);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(audio.currentTime + at);
      oscillator.stop(audio.currentTime + at + 0.2);
    }
    // what was played, for the browser tests (there is no sound to hear in them)
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps ?? 0) + 1);
  }

  const remind = () => {
    if (redWaiting() && performance.now() - lastBeep >= REMIND_EVERY_MS) beep();
  };

  return {
    unlock,
    beep,
    /** Signed in: tries the sound (a kiosk that allows it needs no click), reminds of waiting reds, shows the bar if silent. */
    start() {
      clearInterval(reminder);
      reminder = setInterval(remind, REMIND_CHECK_MS);
      unlock();
    },
    stop() {
      clearInterval(reminder);
      reminder = null;
      showState();
    },
  };
}
