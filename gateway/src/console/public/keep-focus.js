// Keyboard focus across a rebuild. The views rebuild their rows from data (an event, an answer): the element that had
// the focus is thrown away and the focus falls to the page, so an officer working by keyboard was sent back to the top
// after every alarm anywhere. Each focusable control of an alarm says what it is (`data-control`) inside the element
// of its alarm (`data-alarm-id`); after the rebuild the same control of the same alarm gets the focus back.

const placeOf = (root, element) => {
  if (!element || !root.contains(element)) return null;
  const control = element.closest('[data-control]')?.dataset.control;
  const alarmId = element.closest('[data-alarm-id]')?.dataset.alarmId;
  return control && alarmId ? { alarmId, control } : null;
};

/** The focus has gone nowhere: it fell to the page (its element removed or disabled) rather than moved by the officer. */
const lost = () => !document.activeElement || document.activeElement === document.body;

/**
 * Answers `keep(rebuild)`: runs `rebuild` and puts the focus back where it was in `root`. The place is remembered
 * while the focus is lost or in the action dialog (a busy button is disabled and cannot hold it; the dialog's
 * opener is gone when it closes) and forgotten once the officer focuses something else.
 */
export function focusKeeper(root) {
  let wanted = null;
  return function keep(rebuild) {
    const active = document.activeElement;
    const here = placeOf(root, active);
    if (here) wanted = here;
    else if (!lost() && !active.closest('dialog')) wanted = null;
    rebuild();
    if (!wanted || !lost()) return;
    const owner = root.querySelector(`[data-alarm-id="${CSS.escape(wanted.alarmId)}"]`);
    if (!owner) {
      wanted = null; // the alarm left the view (resolved, filtered out)
      return;
    }
    const same = owner.querySelector(`[data-control="${wanted.control}"]`);
    if (same?.disabled) return; // busy: back once its answer is in
    // the control is gone (Acknowledge, once acknowledged): the alarm's next action, else its first control
    const target =
      same ?? owner.querySelector('button[data-control]:not(:disabled)') ?? owner.querySelector('[data-control]:not(:disabled)');
    if (!target) return;
    wanted = placeOf(root, target);
    target.focus({ preventScroll: true });
  };
}
