import type { Browser, BrowserContext, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, eventually, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { cleared, raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { browserAndGatewayPerTest, connected, openConsole, rowOf, signInWithToken } from './console-page.js';

/** A gate a routed request waits at until `open()`. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/**
 * The console when the gateway goes away and comes back, or does not answer: a reload keeps the sign-in, a request
 * that gets no answer ends, and the alarm's page is fetched again when it may have changed unseen. A real gateway,
 * Debian chromium; the network's failures are made by routing the page's requests.
 */
describe('console: the gateway unreachable, slow, or back after a gap (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);

  /** An open alarm of `device`, raised `minutesAgo` (applied to the gateway's alarms: no device, no silence rule). */
  const openAlarm = async (device: string, minutesAgo = 10): Promise<{ id: string; occurrences: number }> => {
    gateway.alarms.apply([raised(device, 'orange', Date.now() - minutesAgo * 60_000)]);
    return eventually(`the alarm of ${device}`, async () => (await api(gateway, `/api/alarms?device=${device}`)).body.alarms[0]);
  };

  it('a reload while the gateway does not answer keeps the sign-in: it says the gateway cannot be reached (中文 too), and carries on when it answers', async () => {
    const alarm = await openAlarm('p-1');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    await rowOf(page, alarm.id).waitFor(BROWSER_WAIT);

    // The gateway restarting: first no connection at all, then a proxy's 502, then it answers again.
    let answers: 'none' | 'proxy' | 'gateway' = 'none';
    await page.route('**/auth/session', (route: Route) => {
      if (answers === 'none') return route.abort('connectionrefused');
      if (answers === 'proxy') return route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' });
      return route.continue();
    });
    await page.reload();
    const waiting = page.locator('#resuming');
    await waiting.getByText('The gateway cannot be reached').waitFor(BROWSER_WAIT);
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.evaluate("sessionStorage.getItem('console.token')")).toBe(TOKENS.operator);
    await page.getByRole('button', { name: '中文' }).click();
    await waiting.getByText('无法连接网关').waitFor(BROWSER_WAIT);
    await page.getByRole('button', { name: 'English' }).click();

    answers = 'proxy';
    await page.waitForResponse((response) => response.url().endsWith('/auth/session') && response.status() === 502, BROWSER_WAIT);
    expect(await waiting.isVisible()).toBe(true);
    expect(await page.locator('#login').isVisible()).toBe(false);

    answers = 'gateway';
    await connected(page);
    await rowOf(page, alarm.id).waitFor(BROWSER_WAIT);
    expect(await waiting.isVisible()).toBe(false);
    expect(await page.locator('#user-name').textContent()).toBe('test-operator');
    expect(await page.locator('#acting').textContent()).toBe('acting as Wang Fang');
  });

  it('a request that gets no answer ends: the buttons are free again and the officer is told the gateway cannot be reached; the notice goes once it is back', async () => {
    const alarm = await openAlarm('p-1');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    const acknowledge = rowOf(page, alarm.id).getByRole('button', { name: 'Acknowledge' });
    await acknowledge.waitFor(BROWSER_WAIT);

    // the network swallows the request: never an answer, never an error
    await page.route('**/api/alarms/*/ack', () => undefined);
    await acknowledge.click();
    expect(await acknowledge.isDisabled()).toBe(true);
    const notice = page.locator('#notice');
    await notice.getByText('Cannot reach the gateway (Acknowledge)').waitFor({ timeout: 40_000 });
    expect(await notice.textContent()).not.toContain('refused');
    expect(await acknowledge.isEnabled()).toBe(true);
    expect((await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.acknowledged).toBe(false);

    // the feed drops and comes back: the notice of the outage is stale and goes
    await page.unroute('**/api/alarms/*/ack');
    gateway.http.app.server.closeAllConnections();
    await page.locator('#connection[data-state="reconnecting"]').waitFor(BROWSER_WAIT);
    await connected(page);
    await notice.waitFor({ state: 'hidden', ...BROWSER_WAIT });
  }, 90_000);

  it("the alarm's page is fetched again after the feed reconnects with a gap: it shows what changed meanwhile", async () => {
    const alarm = await openAlarm('p-1');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    await page.goto(`${gateway.httpUrl}/#/alarms/${alarm.id}`);
    const assignee = page.locator('dd[data-field="assignee"]');
    await expect.poll(() => assignee.innerText(), BROWSER_WAIT).toBe('nobody');

    // The feed's reconnection waits at a gate; meanwhile the alarm is assigned (an event this page never gets); the
    // feed then comes back saying it missed events (the gateway restarted: `gap`, ring_overflow).
    const held = gate();
    await page.route('**/api/alarms/stream**', async (route: Route) => {
      await held.wait;
      await route.fulfill({
        status: 200,
        headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
        body: 'retry: 60000\n\nevent: gap\ndata: {"after":"1","oldest":null,"reason":"ring_overflow"}\n\n',
      });
    });
    gateway.http.app.server.closeAllConnections();
    await page.locator('#connection[data-state="reconnecting"]').waitFor(BROWSER_WAIT);
    expect((await api(gateway, `/api/alarms/${alarm.id}/assign`, { body: { to: '张伟', by: 'dispatcher' } })).status).toBe(200);
    held.open(); // (connected only a moment: the stream's body ends, and it waits a minute to come again)
    await expect.poll(() => assignee.innerText(), BROWSER_WAIT).toBe('张伟');
  });

  it("an action refused as stale (alarm_reoccurred) fetches the alarm's page again, so the next try acts on what is shown", async () => {
    const alarm = await openAlarm('p-1', 20);
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    await page.goto(`${gateway.httpUrl}/#/alarms/${alarm.id}`);
    const occurrences = page.locator('dd[data-field="occurrences"]');
    await expect.poll(() => occurrences.innerText(), BROWSER_WAIT).toBe('1');

    // the feed is down (nothing reaches the page) while the alarm clears and comes back
    await page.route('**/api/alarms/stream**', (route: Route) => route.abort('connectionrefused'));
    gateway.http.app.server.closeAllConnections();
    await page.locator('#connection[data-state="reconnecting"]').waitFor(BROWSER_WAIT);
    gateway.alarms.apply([cleared('p-1', Date.now() - 5 * 60_000)]);
    gateway.alarms.apply([raised('p-1', 'orange', Date.now() - 60_000)]);
    expect((await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.occurrences).toBe(2);

    const acknowledge = page.locator('.detail-actions').getByRole('button', { name: 'Acknowledge' });
    await acknowledge.click();
    await page.locator('#notice').getByText('(alarm_reoccurred)').waitFor(BROWSER_WAIT);
    // the page shows the return now, and acknowledging it (knowingly) is accepted
    await expect.poll(() => occurrences.innerText(), BROWSER_WAIT).toBe('2');
    await acknowledge.click();
    await eventually('acknowledged', async () =>
      (await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.acknowledged === true ? true : undefined,
    );
    expect((await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.acknowledgedBy).toBe('Wang Fang');
  });
});
