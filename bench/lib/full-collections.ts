import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Three full garbage collections of this process (it runs under node --expose-gc), each followed by `alsoCollect` (a
 * worker thread's, say) and 200 ms: a memory reading after them is what is held, not garbage waiting (V8 collects
 * when it next needs room). Resolves with the last `alsoCollect` answer.
 */
export async function fullCollections<T = undefined>(alsoCollect?: () => Promise<T>): Promise<T | undefined> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('a settled reading needs node --expose-gc');
  let last: T | undefined;
  for (let i = 0; i < 3; i += 1) {
    collect();
    last = await alsoCollect?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

/** This thread's young generation as committed now (V8's `new_space`): RSS that full GCs leave in place. */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
}
