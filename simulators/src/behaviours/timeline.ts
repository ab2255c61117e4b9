import type { Behaviour } from '../scenario/behaviour-schema.js';

/** A timeline entry of one device, in absolute virtual time. */
export interface DeviceStep {
  index: number;
  behaviour: Behaviour;
  from: number;
  /** Exclusive end; Infinity when it lasts to the end of the run. */
  to: number;
}

/** How long an entry acts when it has no `for`: a burst is one pulse; the others last. */
function naturalEnd(behaviour: Behaviour, from: number): number {
  if (behaviour.for !== undefined) {
    const end = from + behaviour.for;
    return behaviour.do === 'drift' && behaviour.return !== undefined ? end + behaviour.return : end;
  }
  if (behaviour.do === 'burst') return from + behaviour.rise + behaviour.hold + behaviour.fall;
  if (behaviour.do === 'malformed' || behaviour.do === 'normal') return from;
  return Number.POSITIVE_INFINITY;
}

export function targetsDevice(behaviour: Behaviour, device: string): boolean {
  if (behaviour.device === undefined && behaviour.devices === undefined) return true;
  return behaviour.device === device || (behaviour.devices?.includes(device) ?? false);
}

/** The entries that act on `device`, in absolute time, cut short by any later `normal`. */
export function stepsOf(timeline: readonly Behaviour[], device: string, start: number): DeviceStep[] {
  const mine = timeline.map((behaviour, index) => ({ behaviour, index })).filter(({ behaviour }) => targetsDevice(behaviour, device));
  const resets = mine.filter(({ behaviour }) => behaviour.do === 'normal').map(({ behaviour }) => start + behaviour.at);
  return mine
    .filter(({ behaviour }) => behaviour.do !== 'normal')
    .map(({ behaviour, index }) => {
      const from = start + behaviour.at;
      const reset = resets.filter((at) => at > from).sort((a, b) => a - b)[0];
      const to = Math.min(naturalEnd(behaviour, from), reset ?? Number.POSITIVE_INFINITY);
      return { index, behaviour, from, to: behaviour.do === 'malformed' ? from : to };
    })
    .sort((a, b) => a.from - b.from || a.index - b.index);
}

export const isActive = (step: DeviceStep, t: number): boolean => step.from <= t && t < step.to;
