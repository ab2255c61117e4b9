import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlarmEvent } from '../../../../rules/src/index.js';
import { call, cleared, ROLE_TOKENS, raised, startHttpGateway } from '../../../../test/support/http-gateway.js';
import type { RunningGateway } from '../../gateway.js';
import { READMIT_EVERY_MS } from './stream-routes.js';

const T0 = Date.UTC(2026, 11, 3, 8, 0);
const MIN = 60_000;
/** The ring of the gateway under test: small, so that a client missing four events has lost one. */
const RING = 3;

/** One SSE field block as the client reads it (`: comment` lines in `comments`). */
interface Block {
  id?: string;
  event?: string;
  data?: string;
  comments?: string[];
}

/** A stream read over a real socket: every byte that came (`text`), split into field blocks. */
interface OpenStream {
  status: number;
  headers: Headers;
  readonly text: string;
  readonly blocks: Block[];
  /** How the response ended: `end` (the server finished it), `error` (the connection broke), or null (still open). */
  readonly ended: 'end' | 'error' | null;
  /** Resolves with the first `count` blocks once they have come; rejects after `ms`. */
  blocksUntil(count: number, ms?: number): Promise<Block[]>;
  /** Resolves once the response has ended; rejects after `ms`. */
  endOf(ms?: number): Promise<'end' | 'error'>;
  close(): void;
}

const parseBlock = (raw: string): Block => {
  const block: Block = {};
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) block.comments = [...(block.comments ?? []), line.slice(1).trim()];
    else {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon) as 'id' | 'event' | 'data';
      const value = line.slice(colon + 2);
      block[field] = block[field] === undefined ? value : `${block[field]}\n${value}`;
    }
  }
  return block;
};

/** Polls `check` until it returns true; rejects with `what` after `ms`. */
async function until(what: string | (() => string), check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Opens the alarm stream of `baseUrl` over a real socket; resolves when the response head has come (rejects after 2 s). */
async function openStream(
  baseUrl: string,
  query: string,
  headers: Record<string, string>,
  token: string | null = ROLE_TOKENS.viewer,
): Promise<OpenStream> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('no response head within 2 s')), 2_000);
  const response = await fetch(`${baseUrl}/api/alarms/stream${query}`, {
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...headers },
    signal: abort.signal,
  });
  clearTimeout(timer);
  let text = '';
  let rest = '';
  const blocks: Block[] = [];
  let ended: 'end' | 'error' | null = null;
  const decoder = new TextDecoder();
  const reading = (async () => {
    if (!response.body) return;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const chunk = decoder.decode(value, { stream: true });
        text += chunk;
        const parts = (rest + chunk).split('\n\n');
        rest = parts.pop() ?? '';
        for (const part of parts) blocks.push(parseBlock(part));
      }
      ended = 'end';
    } catch {
      ended = 'error';
    }
  })();
  const stream: OpenStream = {
    status: response.status,
    headers: response.headers,
    get text() {
      return text;
    },
    get blocks() {
      return blocks;
    },
    get ended() {
      return ended;
    },
    async blocksUntil(count, ms = 2_000) {
      await until(
        () => `${count} blocks (have ${blocks.length}: ${JSON.stringify(text.slice(0, 300))})`,
        () => blocks.length >= count || ended !== null,
        ms,
      );
      return blocks.slice(0, count);
    },
    async endOf(ms = 2_000) {
      await until('the end of the stream', () => ended !== null, ms);
      await reading;
      return ended as 'end' | 'error';
    },
    close: () => abort.abort(),
  };
  return stream;
}

const gapBlock = (after: number | string, oldest: number | null, reason: string): Block => ({
  event: 'gap',
  data: JSON.stringify({ after, oldest, reason }),
});

describe('GET /api/alarms/stream (Server-Sent Events)', () => {
  let gateway: RunningGateway;
  let url: string;
  const opened: OpenStream[] = [];
  let clock = T0;
  let pumps = 0;

  async function open(query = '', headers: Record<string, string> = {}, token: string | null = ROLE_TOKENS.viewer): Promise<OpenStream> {
    const stream = await openStream(url, query, headers, token);
    opened.push(stream);
    return stream;
  }

  /** Raises `count` alarms, each of a pump of its own (one device raised and cleared again and again is flapping); returns their cursors. */
  function transitions(count: number): number[] {
    const cursors: number[] = [];
    for (let i = 0; i < count; i++) {
      clock += MIN;
      const before = gateway.liveFeed.lastCursor;
      pumps += 1;
      gateway.alarms.apply([raised(`pump-${pumps}`, 'orange', clock)]);
      expect(gateway.liveFeed.lastCursor).toBe(before + 1);
      cursors.push(gateway.liveFeed.lastCursor);
    }
    return cursors;
  }
  /** The event the feed holds for `cursor`, as the client should read it. */
  const eventAt = (cursor: number): AlarmEvent => {
    const item = gateway.liveFeed.since(cursor - 1).items[0];
    expect(item?.cursor).toBe(cursor);
    return item?.event as AlarmEvent;
  };
  const eventBlock = (cursor: number): Block => ({ id: String(cursor), data: JSON.stringify(eventAt(cursor)) });
  const clients = async (): Promise<number> => (await gateway.metrics.liveFeedClients.get()).values[0]?.value ?? 0;

  beforeAll(async () => {
    gateway = await startHttpGateway({}, { liveFeed: { ringSize: RING } });
    url = gateway.httpUrl;
  }, 60_000);
  afterEach(() => {
    for (const stream of opened.splice(0)) stream.close();
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('opens at once as an uncached event stream whose first block only sets the newest id', async () => {
    const newest = gateway.liveFeed.lastCursor;
    const stream = await open();
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.headers.get('cache-control')).toBe('no-cache');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    await stream.blocksUntil(1);
    expect(stream.text).toBe(`id: ${newest}\n\n`);
    expect(stream.ended).toBeNull();
    stream.close();
  });

  it('sends each later alarm event once as `id:` + `data:` with the contract §4 body, ids increasing', async () => {
    const newest = gateway.liveFeed.lastCursor;
    const stream = await open();
    await stream.blocksUntil(1);
    clock += MIN;
    gateway.alarms.apply([raised('dc-01', 'orange', clock)]);
    clock += MIN;
    gateway.alarms.apply([raised('dc-01', 'red', clock)]);
    const blocks = await stream.blocksUntil(3);
    expect(blocks.map((b) => b.id)).toEqual([String(newest), String(newest + 1), String(newest + 2)]);
    expect(blocks.slice(1)).toEqual([eventBlock(newest + 1), eventBlock(newest + 2)]);
    const [first, second] = blocks.slice(1).map((b) => JSON.parse(b.data as string));
    expect(first).toMatchObject({
      type: 'alarm.raised',
      timestamp: new Date(clock - MIN).toISOString(),
      data: {
        alarm: {
          key: 'site-a/dc-01/hopper_temp_high',
          seq: 1,
          site: 'site-a',
          device: 'dc-01',
          profile: 'dust-collector',
          rule: 'hopper_temp_high',
          severity: 'orange',
          previousSeverity: null,
          state: 'active',
          acknowledged: false,
          metric: 'hopper_temp',
          value: 85,
          threshold: 80,
          unit: '°C',
          message: 'hot dc-01',
          raisedAt: new Date(clock - MIN).toISOString(),
          clearedAt: null,
        },
      },
    });
    expect(first.id).toMatch(/^evt_/);
    expect(second).toMatchObject({ type: 'alarm.escalated', data: { alarm: { seq: 2, severity: 'red', previousSeverity: 'orange' } } });
    expect(second.id).not.toBe(first.id);
    // Nothing more: each event once.
    clock += MIN;
    gateway.alarms.apply([cleared('dc-01', clock)]);
    await stream.blocksUntil(4);
    expect(stream.blocks.slice(3)).toEqual([eventBlock(newest + 3)]);
    stream.close();
  });

  it('refuses a request without a token (401) and one that refuses event-stream (406); takes ?access_token= here', async () => {
    const none = await fetch(`${url}/api/alarms/stream`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const json = await fetch(`${url}/api/alarms/stream`, {
      headers: { authorization: `Bearer ${ROLE_TOKENS.viewer}`, accept: 'application/json' },
    });
    expect(json.status).toBe(406);
    // the API's error body, as every refusal
    expect(await json.json()).toEqual({
      error: { code: 'not_acceptable', message: 'this route produces only text/event-stream: accept it' },
    });

    const newest = gateway.liveFeed.lastCursor;
    const byQuery = await open(`?access_token=${ROLE_TOKENS.viewer}`, { accept: 'text/event-stream' }, null);
    expect(byQuery.status).toBe(200);
    expect(byQuery.headers.get('content-type')).toBe('text/event-stream');
    expect(await byQuery.blocksUntil(1)).toEqual([{ id: String(newest) }]);
    byQuery.close();
    const wrong = await fetch(`${url}/api/alarms/stream?access_token=not-a-token`);
    expect(wrong.status).toBe(401);
    await wrong.text();
  });

  it('has no HEAD route (a HEAD of an endless stream would never end) and is documented as text/event-stream', async () => {
    const head = await fetch(`${url}/api/alarms/stream`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${ROLE_TOKENS.viewer}` },
      signal: AbortSignal.timeout(2_000),
    });
    expect(head.status).toBe(404);
    const document = (await call(gateway, '/openapi.json', { token: null })).body;
    const operation = document.paths['/api/alarms/stream'];
    expect(Object.keys(operation)).toEqual(['get']);
    expect(Object.keys(operation.get.responses['200'].content)).toEqual(['text/event-stream']);
    expect(operation.get.parameters.map((p: { in: string; name: string; required: boolean }) => [p.in, p.name, p.required])).toEqual([
      ['query', 'lastEventId', false],
    ]);
    expect(operation.get.security).toEqual([{ bearer: [] }, { session: [] }, { accessToken: [] }]);
  });

  it('resumes after Last-Event-ID with only the missed events, then live', async () => {
    const [c1, c2, c3] = transitions(3) as [number, number, number];
    const stream = await open('', { 'last-event-id': String(c1) });
    expect(await stream.blocksUntil(3)).toEqual([{ id: String(c1) }, eventBlock(c2), eventBlock(c3)]);
    const [c4] = transitions(1) as [number];
    await stream.blocksUntil(4);
    expect(stream.blocks).toEqual([{ id: String(c1) }, eventBlock(c2), eventBlock(c3), eventBlock(c4)]);
    stream.close();

    // Resuming at the newest id: nothing missed, no gap; the id block repeats it.
    const caughtUp = await open('', { 'last-event-id': String(c4) });
    await caughtUp.blocksUntil(1);
    const [c5] = transitions(1) as [number];
    await caughtUp.blocksUntil(2);
    expect(caughtUp.blocks).toEqual([{ id: String(c4) }, eventBlock(c5)]);
    caughtUp.close();
  });

  it('resumes after ?lastEventId=; the header wins over it, an empty header or query counts as none', async () => {
    const [c1, c2, c3] = transitions(3) as [number, number, number];
    const byQuery = await open(`?lastEventId=${c1}`);
    expect(await byQuery.blocksUntil(3)).toEqual([{ id: String(c1) }, eventBlock(c2), eventBlock(c3)]);

    const both = await open(`?lastEventId=${c1}`, { 'last-event-id': String(c2) });
    expect(await both.blocksUntil(2)).toEqual([{ id: String(c2) }, eventBlock(c3)]);

    const emptyHeader = await open(`?lastEventId=${c2}`, { 'last-event-id': '' });
    expect(await emptyHeader.blocksUntil(2)).toEqual([{ id: String(c2) }, eventBlock(c3)]);

    const emptyQuery = await open('?lastEventId=');
    expect(await emptyQuery.blocksUntil(1)).toEqual([{ id: String(c3) }]);

    // Whatever was resumed, every stream goes on live from its cursor and nothing is sent twice.
    const [c4] = transitions(1) as [number];
    await Promise.all([byQuery.blocksUntil(4), both.blocksUntil(3), emptyHeader.blocksUntil(3), emptyQuery.blocksUntil(2)]);
    expect(byQuery.blocks.slice(3)).toEqual([eventBlock(c4)]);
    expect(both.blocks.slice(2)).toEqual([eventBlock(c4)]);
    expect(emptyHeader.blocks.slice(2)).toEqual([eventBlock(c4)]);
    expect(emptyQuery.blocks.slice(1)).toEqual([eventBlock(c4)]);
    for (const stream of [byQuery, both, emptyHeader, emptyQuery]) stream.close();
  });

  it('says `gap` ring_overflow { after, oldest } when the ring no longer holds every missed event, then sends what it holds', async () => {
    const [c1, c2, c3, c4, c5] = transitions(5) as [number, number, number, number, number];
    // The ring holds c3..c5: after c2 nothing is lost.
    const whole = await open('', { 'last-event-id': String(c2) });
    expect(await whole.blocksUntil(4)).toEqual([{ id: String(c2) }, eventBlock(c3), eventBlock(c4), eventBlock(c5)]);
    // After c1, c2 is lost: the gap first, then c3..c5.
    const lost = await open('', { 'last-event-id': String(c1) });
    expect(await lost.blocksUntil(5)).toEqual([
      { id: String(c1) },
      gapBlock(c1, c3, 'ring_overflow'),
      eventBlock(c3),
      eventBlock(c4),
      eventBlock(c5),
    ]);
    // A small number this feed never handed out (below the ring) is an overflow too.
    const zero = await open('?lastEventId=0');
    expect(await zero.blocksUntil(5)).toEqual([
      { id: '0' },
      gapBlock(0, c3, 'ring_overflow'),
      eventBlock(c3),
      eventBlock(c4),
      eventBlock(c5),
    ]);
    const [c6] = transitions(1) as [number];
    await Promise.all([whole.blocksUntil(5), lost.blocksUntil(6), zero.blocksUntil(6)]);
    expect(whole.blocks.slice(4)).toEqual([eventBlock(c6)]);
    expect(lost.blocks.slice(5)).toEqual([eventBlock(c6)]);
    expect(zero.blocks.slice(5)).toEqual([eventBlock(c6)]);
    for (const stream of [whole, lost, zero]) stream.close();
  });

  it('says `gap` unknown_cursor for an id ahead of the newest or not a number, and goes on live from the newest', async () => {
    transitions(1);
    const newest = gateway.liveFeed.lastCursor;
    const ids: [string, number | string][] = [
      [String(newest + 1), newest + 1],
      [String(newest + 1_000_000), newest + 1_000_000],
      ['abc', 'abc'],
      ['5abc', '5abc'],
      ['abc5', 'abc5'],
      ['-1', '-1'],
      // 17 digits: not a cursor (and not a safe integer)
      ['12345678901234567', '12345678901234567'],
    ];
    const streams = [];
    for (const [id, after] of ids) {
      const stream = await open('', { 'last-event-id': id });
      expect(await stream.blocksUntil(2)).toEqual([{ id: String(newest) }, gapBlock(after, null, 'unknown_cursor')]);
      streams.push(stream);
    }
    const byQuery = await open('?lastEventId=abc');
    expect(await byQuery.blocksUntil(2)).toEqual([{ id: String(newest) }, gapBlock('abc', null, 'unknown_cursor')]);
    streams.push(byQuery);
    const [next] = transitions(1) as [number];
    for (const stream of streams) {
      await stream.blocksUntil(3);
      expect(stream.blocks.slice(2)).toEqual([eventBlock(next)]);
      stream.close();
    }
  });

  it('keeps a client that reads up to date through bursts, and disconnects one more than 5,000 events behind', async () => {
    const before = gateway.liveFeed.lastCursor;
    const stream = await open();
    await stream.blocksUntil(1);
    transitions(1);
    const event = eventAt(before + 1);
    const publish = (count: number): void => {
      for (let i = 0; i < count; i++) gateway.liveFeed.publish(event);
    };
    // Two bursts of 2,600 (5,200 in all), each read before the next: never more than 5,000 pending.
    publish(2_600);
    await stream.blocksUntil(2 + 2_600);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server sees the writes drain
    publish(2_600);
    await stream.blocksUntil(2 + 5_200);
    expect(stream.ended).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // 5,001 at once: the first 5,000 are written, then the stream ends; the client resumes from the last id.
    const from = gateway.liveFeed.lastCursor;
    publish(5_001);
    expect(await stream.endOf()).toBe('end');
    const burst = stream.blocks.slice(2 + 5_200);
    expect(burst).toHaveLength(5_000);
    expect(burst[0]?.id).toBe(String(from + 1));
    expect(burst[4_999]?.id).toBe(String(from + 5_000));
    const ids = stream.blocks.slice(1).map((b) => Number(b.id));
    expect(ids.every((id, i) => id === before + 1 + i)).toBe(true);
    await until('the dropped client unsubscribed', async () => (await clients()) === 0);
  });

  it('unsubscribes a client that goes away (gateway_live_feed_clients)', async () => {
    await until('the earlier clients gone', async () => (await clients()) === 0);
    const one = await open();
    const two = await open();
    await one.blocksUntil(1);
    await two.blocksUntil(1);
    expect(await clients()).toBe(2);
    one.close();
    await until('one client left', async () => (await clients()) === 1);
    const [next] = transitions(1) as [number];
    await two.blocksUntil(2);
    expect(two.blocks.slice(1)).toEqual([eventBlock(next)]);
    two.close();
    await until('no client left', async () => (await clients()) === 0);
  });

  it('sends a heartbeat comment on an idle stream every 15 s', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const newest = gateway.liveFeed.lastCursor;
      const stream = await open();
      await stream.blocksUntil(1);
      vi.advanceTimersByTime(14_999);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(stream.text).toBe(`id: ${newest}\n\n`);
      vi.advanceTimersByTime(1);
      await stream.blocksUntil(2);
      expect(stream.text).toBe(`id: ${newest}\n\n: heartbeat\n\n`);
      stream.close();
      await until('the client gone', () => stream.ended !== null);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('GET /api/alarms/stream of a gateway just started, and closed', () => {
  let fresh: RunningGateway;
  let closed = false;
  const opened: OpenStream[] = [];
  beforeAll(async () => {
    fresh = await startHttpGateway();
  }, 60_000);
  afterEach(() => {
    for (const stream of opened.splice(0)) stream.close();
  });
  afterAll(async () => {
    if (!closed) await fresh?.close();
  });
  const open = async (headers: Record<string, string>) => {
    const stream = await openStream(fresh.httpUrl, '', headers);
    opened.push(stream);
    return stream;
  };

  it('says `gap` ring_overflow with oldest null to a client resuming from before the start, though nothing was raised since', async () => {
    // The cursor starts from the clock: an id the previous process handed out is below it; its last events are lost.
    const start = fresh.liveFeed.lastCursor;
    const before = await open({ 'last-event-id': String(start - 5) });
    expect(await before.blocksUntil(2)).toEqual([{ id: String(start - 5) }, gapBlock(start - 5, null, 'ring_overflow')]);
    // The id-only block of this process's stream: nothing missed.
    const current = await open({ 'last-event-id': String(start) });
    await current.blocksUntil(1);
    fresh.alarms.apply([raised('dc-01', 'orange', T0)]);
    const raisedBlock = { id: String(start + 1), data: JSON.stringify(fresh.liveFeed.since(start).items[0]?.event) };
    expect(await current.blocksUntil(2)).toEqual([{ id: String(start) }, raisedBlock]);
    expect(await before.blocksUntil(3)).toEqual([{ id: String(start - 5) }, gapBlock(start - 5, null, 'ring_overflow'), raisedBlock]);
  });

  it('ends every open stream when the gateway closes, without holding up the shutdown', async () => {
    const stream = await open({});
    await stream.blocksUntil(1);
    const started = Date.now();
    await fresh.close();
    closed = true;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await stream.endOf()).toBe('error');
  });
});

describe('GET /api/alarms/stream of a gateway whose ring holds more than 5,000 events', () => {
  let big: RunningGateway;
  const opened: OpenStream[] = [];
  beforeAll(async () => {
    big = await startHttpGateway({}, { liveFeed: { ringSize: 6_000 } });
  }, 60_000);
  afterAll(async () => {
    for (const stream of opened.splice(0)) stream.close();
    await big?.close();
  });

  it('writes a burst as large as the ring to a client in full, and cuts one further behind than the ring holds', async () => {
    const stream = await openStream(big.httpUrl, '', {});
    opened.push(stream);
    await stream.blocksUntil(1);
    big.alarms.apply([raised('dc-01', 'orange', T0)]);
    await stream.blocksUntil(2);
    const event = big.liveFeed.since(big.liveFeed.lastCursor - 1).items[0]?.event as AlarmEvent;
    const from = big.liveFeed.lastCursor;
    for (let i = 0; i < 6_000; i++) big.liveFeed.publish(event);
    await stream.blocksUntil(2 + 6_000, 10_000);
    expect(stream.ended).toBeNull();
    expect(stream.blocks.at(-1)?.id).toBe(String(from + 6_000));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the server sees the writes drain
    for (let i = 0; i < 6_001; i++) big.liveFeed.publish(event);
    expect(await stream.endOf(10_000)).toBe('end');
    expect(stream.blocks.slice(2 + 6_000)).toHaveLength(6_000);
  }, 30_000);
});

describe('GET /api/alarms/stream ends with the credential that opened it', () => {
  let gateway: RunningGateway;
  let clock = Date.now();
  const PASSWORD = 'correct horse battery staple';
  const opened: OpenStream[] = [];
  const open = async (headers: Record<string, string>, token: string | null): Promise<OpenStream> => {
    const stream = await openStream(gateway.httpUrl, '', headers, token);
    expect(stream.status).toBe(200);
    await stream.blocksUntil(1);
    opened.push(stream);
    return stream;
  };
  const login = async (name: string): Promise<string> => {
    const answer = await call(gateway, '/auth/login', { token: null, body: { name, password: PASSWORD } });
    expect(answer.status).toBe(200);
    return String(answer.headers['set-cookie']).split(';')[0] as string;
  };
  const personalToken = async (cookie: string): Promise<{ token: string; id: string }> => {
    const answer = await call(gateway, '/api/tokens', { token: null, headers: { cookie }, body: { label: 'curl on the wall PC' } });
    expect(answer.status).toBe(201);
    return { token: answer.body.token, id: answer.body.info.id };
  };
  /** Whether the stream is still open a moment after whatever was just done (its first block came at once). */
  const stillOpen = async (stream: OpenStream): Promise<boolean> => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return stream.ended === null;
  };

  beforeAll(async () => {
    gateway = await startHttpGateway({ sessions: { ttl: '12h', idleTimeout: '1h' } }, {}, () => clock);
    for (const name of ['wang', 'li', 'zhao'])
      expect((await call(gateway, '/api/users', { body: { name, role: 'operator', password: PASSWORD } })).status).toBe(201);
  }, 60_000);
  afterEach(() => {
    vi.useRealTimers();
    for (const stream of opened.splice(0)) stream.close();
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('a revoked personal token, a disabled or removed user, a logout: their streams end at once; the others go on', async () => {
    const wang = await login('wang');
    const { token, id } = await personalToken(wang);
    const byToken = await open({}, token);
    const bySession = await open({ cookie: wang }, null);
    const shared = await open({}, ROLE_TOKENS.viewer);

    expect((await call(gateway, `/api/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await byToken.endOf()).toBe('end');
    expect(await stillOpen(bySession)).toBe(true);
    // the client's reconnection is refused
    expect((await openStream(gateway.httpUrl, '', {}, token)).status).toBe(401);

    const li = await login('li');
    const liStream = await open({ cookie: li }, null);
    expect((await call(gateway, '/api/users/li', { method: 'PATCH', body: { disabled: true } })).status).toBe(200);
    expect(await liStream.endOf()).toBe('end');
    expect(await stillOpen(bySession)).toBe(true);

    const zhao = await login('zhao');
    const zhaoToken = await personalToken(zhao);
    const zhaoStreams = [await open({ cookie: zhao }, null), await open({}, zhaoToken.token)];
    expect((await call(gateway, '/api/users/zhao', { method: 'DELETE' })).status).toBe(200);
    for (const stream of zhaoStreams) expect(await stream.endOf()).toBe('end');

    expect((await call(gateway, '/auth/logout', { token: null, headers: { cookie: wang }, body: {} })).status).toBe(200);
    expect(await bySession.endOf()).toBe('end');
    expect(await stillOpen(shared)).toBe(true);
    // and the one left still gets what happens
    gateway.alarms.apply([raised('dc-01', 'orange', clock)]);
    await shared.blocksUntil(2);
    expect(shared.blocks[1]?.data).toContain('"alarm.raised"');
  });

  it('a session idle past its timeout, with no account change to say so, ends its stream at the next look (every 10 s); the looks are no use of it', async () => {
    expect((await call(gateway, '/api/users', { body: { name: 'sun', role: 'viewer', password: PASSWORD } })).status).toBe(201);
    const sun = await login('sun');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const stream = await open({ cookie: sun }, null);
    const shared = await open({}, ROLE_TOKENS.viewer);
    clock += 31 * 60_000;
    vi.advanceTimersByTime(READMIT_EVERY_MS);
    expect(await stillOpen(stream)).toBe(true); // idle half an hour: its session still runs
    clock += 31 * 60_000; // an hour and more since its last request (the looks do not count as one)
    vi.advanceTimersByTime(READMIT_EVERY_MS);
    expect(await stream.endOf()).toBe('end');
    expect(await stillOpen(shared)).toBe(true);
  });

  it('a new password ends the personal tokens of its user, as their sessions', async () => {
    expect((await call(gateway, '/api/users', { body: { name: 'qian', role: 'operator', password: PASSWORD } })).status).toBe(201);
    const qian = await login('qian');
    const { token } = await personalToken(qian);
    expect((await call(gateway, '/api/alarms', { token })).status).toBe(200);
    const stream = await open({}, token);
    const reset = await call(gateway, '/api/users/qian', { method: 'PATCH', body: { password: 'another good passphrase' } });
    expect(reset.status).toBe(200);
    expect(await stream.endOf()).toBe('end');
    expect((await call(gateway, '/api/alarms', { token })).status).toBe(401);
    expect((await call(gateway, '/api/alarms', { token: null, headers: { cookie: qian } })).status).toBe(401);
  });
});
