import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHostLookup, type ResolveHost } from './host-lookup.js';
import { httpSend } from './http-send.js';

const V4 = (address: string): LookupAddress => ({ address, family: 4 });
const V6 = (address: string): LookupAddress => ({ address, family: 6 });

/** A resolver whose lookups wait until the test answers them, and what it was asked. */
function heldResolver() {
  const asked: string[] = [];
  const open = new Map<string, Array<{ resolve: (a: LookupAddress[]) => void; reject: (e: Error) => void }>>();
  const resolve: ResolveHost = (hostname) =>
    new Promise((ok, fail) => {
      asked.push(hostname);
      const list = open.get(hostname) ?? [];
      list.push({
        resolve: ok,
        reject: fail,
      });
      open.set(hostname, list);
    });
  const take = (hostname: string) => {
    const next = open.get(hostname)?.shift();
    if (!next) throw new Error(`no lookup of ${hostname} is waiting`);
    return next;
  };
  return {
    resolve,
    asked,
    answer: (hostname: string, addresses: LookupAddress[]) => take(hostname).resolve(addresses),
    fail: (hostname: string) => take(hostname).reject(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' })),
  };
}

/** `lookup(name)` as a connection makes it (`all: true`, as net does with autoSelectFamily), as a promise. */
function asker(lookup: ReturnType<typeof createHostLookup>) {
  return (hostname: string, family?: number): Promise<LookupAddress[]> =>
    new Promise((ok, fail) => {
      lookup(hostname, { all: true, ...(family === undefined ? {} : { family }) }, ((error: Error | null, all: LookupAddress[]) =>
        error ? fail(error) : ok(all)) as never);
    });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the sinks host lookup', () => {
  it('resolves a name once for every connection asking at the same time; a failure is not kept', async () => {
    const dns = heldResolver();
    const ask = asker(createHostLookup({ freshMs: 10_000, refreshWaitMs: 500, staleMs: 86_400_000, now: Date.now, resolve: dns.resolve }));
    const failing = [ask('receiver.plant'), ask('receiver.plant')];
    await settle();
    expect(dns.asked).toEqual(['receiver.plant']);
    dns.fail('receiver.plant');
    for (const one of failing) await expect(one).rejects.toMatchObject({ code: 'EAI_AGAIN' });
    const same = [ask('receiver.plant'), ask('receiver.plant'), ask('receiver.plant')];
    await settle();
    expect(dns.asked).toEqual(['receiver.plant', 'receiver.plant']);
    dns.answer('receiver.plant', [V4('10.0.0.7')]);
    expect(await Promise.all(same)).toEqual([[V4('10.0.0.7')], [V4('10.0.0.7')], [V4('10.0.0.7')]]);
  });

  it('keeps an answer: fresh, used as it is; older, looked up again; while lookups fail or hang, the older one serves until it is stale', async () => {
    const dns = heldResolver();
    let now = 1_000_000;
    const ask = asker(createHostLookup({ freshMs: 10_000, refreshWaitMs: 30, staleMs: 3_600_000, now: () => now, resolve: dns.resolve }));
    const first = ask('receiver.plant');
    await settle();
    dns.answer('receiver.plant', [V4('10.0.0.7')]);
    expect(await first).toEqual([V4('10.0.0.7')]);

    now += 9_000; // fresh: no lookup
    expect(await ask('receiver.plant')).toEqual([V4('10.0.0.7')]);
    expect(dns.asked).toHaveLength(1);

    now += 2_000; // older than 10 s: looked up again, and a prompt answer is the one used
    const moved = ask('receiver.plant');
    await settle();
    dns.answer('receiver.plant', [V4('10.0.0.70')]);
    expect(await moved).toEqual([V4('10.0.0.70')]);

    now += 11_000; // the DNS server has gone quiet: after 30 ms of waiting, the older answer
    const waited = Date.now();
    expect(await ask('receiver.plant')).toEqual([V4('10.0.0.70')]);
    expect(Date.now() - waited).toBeGreaterThanOrEqual(25);
    dns.fail('receiver.plant');
    await settle();

    now += 3_000_000; // it answers with an error now: still the older answer, within the hour
    const failing = ask('receiver.plant');
    await settle();
    dns.fail('receiver.plant');
    expect(await failing).toEqual([V4('10.0.0.70')]);

    now += 700_000; // past the hour: forgotten, the failure is the answer
    const gone = ask('receiver.plant');
    await settle();
    dns.fail('receiver.plant');
    await expect(gone).rejects.toMatchObject({ code: 'EAI_AGAIN' });
  });

  it('answers with the family asked for, one address or all of them', async () => {
    const dns = heldResolver();
    const lookup = createHostLookup({ freshMs: 10_000, refreshWaitMs: 500, staleMs: 86_400_000, now: Date.now, resolve: dns.resolve });
    const ask = asker(lookup);
    const both = ask('receiver.plant');
    await settle();
    dns.answer('receiver.plant', [V6('fd00::7'), V4('10.0.0.7')]);
    expect(await both).toEqual([V6('fd00::7'), V4('10.0.0.7')]);
    expect(await ask('receiver.plant', 4)).toEqual([V4('10.0.0.7')]);
    const one = await new Promise((ok) =>
      lookup('receiver.plant', { family: 6 }, (error, address, family) => ok({ error, address, family })),
    );
    expect(one).toEqual({ error: null, address: 'fd00::7', family: 6 });
    const v4only = ask('v4.plant', 6);
    await settle();
    dns.answer('v4.plant', [V4('10.0.0.8')]);
    await expect(v4only).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('is what the sinks requests connect with: a receiver named in /etc/hosts (localhost) is reached', async () => {
    const server = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect((await httpSend('POST', `http://localhost:${port}/hook`, { body: '{}', timeoutMs: 5_000 })).status).toBe(204);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
