import { type LookupAddress, lookup as systemLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';

/**
 * Resolves a name to every address the system's resolver gives (`getaddrinfo`, so `/etc/hosts` counts). libuv runs at
 * most two such lookups at once (half its thread pool; the rest wait in line), and a name whose DNS server does not
 * answer holds its turn for the resolver's whole timeout (5 s × attempts).
 */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>;

const resolveWithSystem: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => {
    systemLookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });

export interface HostLookupOptions {
  /** An answer younger than this is used as it is; an older one is looked up again on its next use. */
  freshMs: number;
  /** How long a connection waits for that new lookup before it takes the older answer (the DNS server is slow or down). */
  refreshWaitMs: number;
  /** An answer is used up to this long after it was got, while its refreshes fail (a DNS outage): then forgotten. */
  staleMs: number;
  now: () => number;
  resolve?: ResolveHost;
}

interface Answer {
  addresses: LookupAddress[];
  at: number;
}

/**
 * The sinks' name lookup (webhook receivers, IM robots, InfluxDB): one lookup a name at a time, whoever asks, and its
 * answer kept: used as it is for `freshMs`, then looked up again on its next use — the connection waits
 * `refreshWaitMs` at most for that, then takes the older answer, which serves while lookups fail for up to `staleMs`.
 * So a DNS server that stops answering does not stop deliveries to receivers already known (every new connection
 * waited out the resolver's timeout, then failed), and connections to one name do not queue lookups of it behind
 * lookups of names that will not resolve; a name never resolved fails as before.
 */
export function createHostLookup(options: HostLookupOptions): LookupFunction {
  const resolveHost = options.resolve ?? resolveWithSystem;
  const answers = new Map<string, Answer>();
  /** Names resolving now: one lookup a name, whoever asks. */
  const pending = new Map<string, Promise<LookupAddress[]>>();

  const refresh = (hostname: string): Promise<LookupAddress[]> => {
    let running = pending.get(hostname);
    if (running) return running;
    running = (async () => {
      try {
        const addresses = await resolveHost(hostname);
        answers.set(hostname, { addresses, at: options.now() });
        return addresses;
      } finally {
        pending.delete(hostname);
      }
    })();
    pending.set(hostname, running);
    return running;
  };

  /** The kept answer still usable (not past `staleMs`), if any. */
  const kept = (hostname: string): Answer | null => {
    const answer = answers.get(hostname);
    if (!answer) return null;
    if (options.now() - answer.at <= options.staleMs) return answer;
    answers.delete(hostname);
    return null;
  };

  return (hostname, lookupOptions, callback) => {
    const answer = (addresses: LookupAddress[]): void => {
      const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
      const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
      const first = usable[0];
      if (!first) {
        const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
        callback(error, '', 0);
      } else if (lookupOptions.all) (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, usable);
      else callback(null, first.address, first.family);
    };
    const older = kept(hostname);
    if (older === null) {
      refresh(hostname).then(answer, (error: NodeJS.ErrnoException) => callback(error, '', 0));
      return;
    }
    if (options.now() - older.at <= options.freshMs) {
      // asynchronously, as the system's lookup answers: the socket's listeners are not attached yet
      process.nextTick(answer, older.addresses);
      return;
    }
    let answered = false;
    const once = (addresses: LookupAddress[]): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      answer(addresses);
    };
    const timer = setTimeout(() => once(older.addresses), options.refreshWaitMs);
    // a failed lookup keeps the older answer (its own retry is the next connection's)
    refresh(hostname).then(once, () => once(older.addresses));
  };
}
