import type { DeviceAction } from './action.js';

/** Merges per-device action streams into one in time order; ties keep device order, then each device's own order. */
export function* mergeActions(streams: ReadonlyArray<Iterator<DeviceAction>>): Generator<DeviceAction> {
  const heads = streams.map((stream) => stream.next());
  while (true) {
    let best = -1;
    for (let i = 0; i < heads.length; i += 1) {
      const head = heads[i];
      if (!head || head.done) continue;
      const bestHead = heads[best];
      if (best < 0 || (bestHead && !bestHead.done && head.value.at < bestHead.value.at)) best = i;
    }
    if (best < 0) return;
    const head = heads[best] as IteratorYieldResult<DeviceAction>;
    yield head.value;
    heads[best] = (streams[best] as Iterator<DeviceAction>).next();
  }
}
