/** The clock of a virtual-time run: the gateway under test reads it (`startGateway({ now: clock.now })`). */
export interface VirtualClock {
  now(): number;
  set(t: number): void;
}

export function createVirtualClock(start: number): VirtualClock {
  let current = start;
  return {
    now: () => current,
    set(t) {
      if (t < current) throw new Error(`virtual time cannot go back (${new Date(t).toISOString()} < ${new Date(current).toISOString()})`);
      current = t;
    },
  };
}
