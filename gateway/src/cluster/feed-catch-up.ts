/**
 * A feed followed beside a store it is read back from (the alarm mirror, the shared device status): messages that
 * come while the store is being read are held and applied after the read, in the order they came — the read may
 * return a row a held message changed since (an owner writes before it publishes, but the answer to the read may come
 * later on its own connection).
 */
export interface HeldFeed {
  /** A feed message: applied now, or held while a read runs. */
  receive(text: string): void;
  /** Applies what is held, and holds what comes from now on (a read is about to be sent). */
  hold(): void;
  /** Applies what is held, and holds no more. */
  release(): void;
}

export function heldFeed(apply: (text: string) => void): HeldFeed {
  let held: string[] | null = null;
  const release = (): void => {
    const came = held ?? [];
    held = null;
    for (const text of came) apply(text);
  };
  return {
    receive(text) {
      if (held) held.push(text);
      else apply(text);
    },
    hold() {
      release();
      held = [];
    },
    release,
  };
}

export interface CatchUpDeps {
  /** Reads the store again (what the feed's messages changed meanwhile). */
  read(): Promise<void>;
  feed: HeldFeed;
  /** The first wait after a failed read (ms); it doubles up to 30 s. */
  firstWaitMs: number;
  closed(): boolean;
  /** A read went through and no reconnect came during it. */
  caughtUp?(): void;
  failed(error: unknown): void;
}

/**
 * What to do when the feed's connection is back (Redis restarted, a network blip): what was published meanwhile never
 * came, so the store is read again, the feed held during each attempt; tried until it works (backing off), and once
 * more when the feed dropped again during a read. Resolves when caught up, or closed.
 */
export function feedCatchUp(deps: CatchUpDeps): () => Promise<void> {
  let reading = false;
  /** A reconnect while a read ran: what was published in between needs another. */
  let again = false;
  return async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    let wait = deps.firstWaitMs;
    try {
      while (!deps.closed()) {
        again = false;
        // what came before this read is in it: applied now, not after a later read it would undo
        deps.feed.hold();
        try {
          await deps.read();
          if (again) continue;
          deps.caughtUp?.();
          return;
        } catch (error) {
          deps.failed(error);
          await new Promise((resolve) => setTimeout(resolve, wait).unref());
          wait = Math.min(wait * 2, 30_000);
        }
      }
    } finally {
      reading = false;
      deps.feed.release();
    }
  };
}
