import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, eventually, metricValue, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { browserAndGatewayPerTest, connected, openConsole, rowOf, signInWithPassword, signInWithToken } from './console-page.js';

const PASSWORD = 'correct horse battery staple';
/** Every tab says the session ended within this: before the next poll of the devices (10 s) would have found out. */
const SIGNED_OUT_WITHIN = { timeout: 7_000 };
/** An event raised on the gateway is on every tab within this. */
const SHOWN_WITHIN = { timeout: 10_000 };
/**
 * The console opened over plain http at the gateway's address is no secure context: the browser offers no Web Locks
 * there. Taken away here (the tests reach the gateway on 127.0.0.1, which is one), the tabs elect by claims instead.
 */
const NO_WEB_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true });";
const ELECTIONS = [
  { election: 'Web Locks', initScripts: [] },
  { election: 'claims over a BroadcastChannel (no Web Locks: plain http)', initScripts: [NO_WEB_LOCKS] },
];

/**
 * A browser allows six connections to the gateway over HTTP/1.1; a stream per tab left the seventh tab's requests
 * waiting. The tabs of one browser share one stream: one of them holds it and relays it to the others, another takes
 * over when it closes. A real gateway, Debian chromium.
 */
describe('console: many tabs of one browser share one live stream (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);

  /** The gateway's open SSE connections (its metric). */
  const streams = async (): Promise<number> => metricValue((await api(gateway, '/metrics')).body, 'gateway_live_feed_clients');

  /** An officer signed in with a password in one tab, and `count - 1` more tabs of the same browser (the cookie). */
  const tabs = async (count: number, initScripts: string[] = []): Promise<Page[]> => {
    expect((await api(gateway, '/api/users', { body: { name: '王丽', role: 'operator', password: PASSWORD } })).status).toBe(201);
    const first = await openConsole(browser, gateway.httpUrl, contexts, { initScripts });
    await signInWithPassword(first, '王丽', PASSWORD);
    const pages = [first];
    for (let n = 1; n < count; n += 1) {
      const page = await first.context().newPage();
      await page.goto(gateway.httpUrl);
      await connected(page);
      pages.push(page);
    }
    return pages;
  };

  const raise = async (device: string, severity: 'red' | 'orange' = 'orange'): Promise<string> => {
    gateway.alarms.apply([raised(device, severity, Date.now() - 60_000)]);
    const alarm = await eventually(
      `the alarm of ${device}`,
      async () => (await api(gateway, `/api/alarms?device=${device}`)).body.alarms[0],
    );
    return alarm.id;
  };

  const shownOnEvery = async (pages: Page[], alarmId: string): Promise<void> => {
    await Promise.all(pages.map((page) => rowOf(page, alarmId).waitFor(SHOWN_WITHIN)));
  };

  /** The events of a tab's live log, oldest first (the notes of the feed's state left out). */
  const eventsOf = (page: Page): Promise<string[]> =>
    page.locator('#event-log li:not(.note)').evaluateAll((items) => items.map((item) => item.textContent ?? '').reverse());

  const leaderOf = async (pages: Page[]): Promise<Page> => {
    const roles = await Promise.all(pages.map((page) => page.locator('#connection').getAttribute('data-stream')));
    expect(roles.filter((role) => role === 'leader')).toHaveLength(1);
    return pages[roles.indexOf('leader')]!;
  };

  for (const { election, initScripts } of ELECTIONS) {
    it(`eight tabs: one stream, every alarm on every tab in order, and when the tab holding it closes another takes over (${election})`, async () => {
      const pages = await tabs(8, initScripts);
      expect(await pages[0]!.evaluate('navigator.locks === undefined')).toBe(initScripts.length > 0);

      const first = await raise('p-1', 'red');
      await shownOnEvery(pages, first);
      await expect.poll(streams, BROWSER_WAIT).toBe(1);
      const second = await raise('p-2');
      await shownOnEvery(pages, second);
      // every tab has the same events, in the order the gateway sent them
      const logs = await Promise.all(pages.map(eventsOf));
      expect(logs[0]).toHaveLength(2);
      for (const log of logs) expect(log).toEqual(logs[0]);
      expect(await streams()).toBe(1);

      // the tab that holds the stream closes; an alarm raised at once reaches the others (resumed after the last event)
      const leader = await leaderOf(pages);
      const rest = pages.filter((page) => page !== leader);
      await leader.close();
      const third = await raise('p-3', 'red');
      await shownOnEvery(rest, third);
      await leaderOf(rest);
      const fourth = await raise('p-4');
      await shownOnEvery(rest, fourth);
      await Promise.all(rest.map((page) => connected(page)));
      expect(await streams()).toBe(1);
      const after = await Promise.all(rest.map(eventsOf));
      expect(after[0]).toHaveLength(4);
      for (const log of after) expect(log).toEqual(after[0]);
      expect(after[0]!.slice(0, 2)).toEqual(logs[0]);
    }, 120_000);
  }

  for (const { election, initScripts } of ELECTIONS) {
    it(`the tab holding the stream stops answering (its page busy): another takes it over within seconds, and the first gives it up when it is back (${election})`, async () => {
      const pages = await tabs(3, initScripts);
      const leader = await leaderOf(pages);
      const rest = pages.filter((page) => page !== leader);
      // the leader's page runs for 25 s without a break (a tab hung): it neither relays nor answers
      await rest[0]!.evaluate("void (window.hung = new Promise((resolve) => { new BroadcastChannel('test.hung').onmessage = resolve; }))");
      const hung = leader.evaluate(
        "(() => { new BroadcastChannel('test.hung').postMessage('hung'); const end = Date.now() + 25_000; while (Date.now() < end); })()",
      );
      await rest[0]!.evaluate('window.hung'); // it is hung

      const raisedMeanwhile = await raise('p-1', 'red');
      await Promise.all(rest.map((page) => rowOf(page, raisedMeanwhile).waitFor({ timeout: 20_000 })));
      await leaderOf(rest);
      expect(await streams()).toBe(2); // the hung tab's connection is still open

      await hung;
      await rowOf(leader, raisedMeanwhile).waitFor(SHOWN_WITHIN);
      await expect.poll(() => leader.locator('#connection').getAttribute('data-stream'), BROWSER_WAIT).toBe('follower');
      await expect.poll(streams, BROWSER_WAIT).toBe(1);
      await leaderOf(pages);
      const next = await raise('p-2');
      await shownOnEvery(pages, next);
      // each event once on every tab, though two tabs held a stream for a while
      for (const page of pages) expect(await eventsOf(page)).toHaveLength(2);
    }, 120_000);
  }

  it("the officer's session ends: every tab signs out at once, not each at its next request", async () => {
    const pages = await tabs(3);
    // just after a tab's poll of the devices: its next request would come 10 s later
    await pages[1]!.waitForResponse((response) => new URL(response.url()).pathname === '/api/devices', BROWSER_WAIT);
    const changed = await api(gateway, `/api/users/${encodeURIComponent('王丽')}`, {
      method: 'PATCH',
      body: { password: 'a new and longer passphrase' },
    });
    expect(changed.status).toBe(200);
    await Promise.all(
      pages.map((page) => page.locator('#login-error').getByText('Your session has ended: sign in again.').waitFor(SIGNED_OUT_WITHIN)),
    );
    await expect.poll(streams, BROWSER_WAIT).toBe(0);
  });

  it("the officer signs out in one tab: the session is the browser's, so the other tabs say it has ended; a token's other tab stays", async () => {
    const [one, two] = await tabs(2);
    await two!.waitForResponse((response) => new URL(response.url()).pathname === '/api/devices', BROWSER_WAIT);
    await one!.getByRole('button', { name: 'Sign out' }).click();
    await two!.locator('#login-error').getByText('Your session has ended: sign in again.').waitFor(SIGNED_OUT_WITHIN);

    // two tabs signed in with one shared token; the one holding the stream signs out: the other carries on with it
    const [first, second] = [await one!.context().newPage(), await one!.context().newPage()];
    for (const page of [first!, second!]) {
      await page.goto(gateway.httpUrl);
      await signInWithToken(page, TOKENS.operator, 'Li Wei');
    }
    const leader = await leaderOf([first!, second!]);
    const other = leader === first ? second! : first!;
    await leader.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => other.locator('#connection').getAttribute('data-stream'), BROWSER_WAIT).toBe('leader');
    const alarm = await raise('p-1');
    await rowOf(other, alarm).waitFor(SHOWN_WITHIN);
    expect(await other.locator('#login').isVisible()).toBe(false);
    expect(await other.evaluate("sessionStorage.getItem('console.token')")).toBe(TOKENS.operator);
  });

  it("a follower on an alarm's page fetches it again when the stream comes back after a gap", async () => {
    const [leader, follower] = await tabs(2);
    const alarm = await raise('p-1');
    expect(await leader!.locator('#connection').getAttribute('data-stream')).toBe('leader');
    await follower!.goto(`${gateway.httpUrl}/#/alarms/${alarm}`);
    const assignee = follower!.locator('dd[data-field="assignee"]');
    await expect.poll(() => assignee.innerText(), BROWSER_WAIT).toBe('nobody');

    // the stream's reconnection waits at a gate; meanwhile the alarm is assigned (an event no tab gets); the stream
    // then comes back saying it missed events (the gateway restarted: `gap`)
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    await leader!.context().route('**/api/alarms/stream**', async (route: Route) => {
      await gate;
      await route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
        body: 'retry: 60000\n\nevent: gap\ndata: {"after":"1","oldest":null,"reason":"ring_overflow"}\n\n',
      });
    });
    gateway.http.app.server.closeAllConnections();
    await follower!.locator('#connection[data-state="reconnecting"]').waitFor(BROWSER_WAIT);
    expect((await api(gateway, `/api/alarms/${alarm}/assign`, { body: { to: '张伟', by: 'dispatcher' } })).status).toBe(200);
    open();
    await expect.poll(() => assignee.innerText(), BROWSER_WAIT).toBe('张伟');
  });
});
