import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, eventually, type TestGateway } from '../helpers/test-gateway.js';
import { raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { browserAndGatewayPerTest, connected, openConsole, rowOf, signInWithPassword, signInWithToken } from './console-page.js';

const PASSWORD = 'correct horse battery staple';
/**
 * The page says the session ended within this: well before its next poll of the devices (10 s after the one each test
 * waits for), the request that found out before.
 */
const SIGNED_OUT_WITHIN = { timeout: 7_000 };

/**
 * The officer's session or personal token ends on the gateway while the console is open (a new password, the user
 * removed, the token revoked): the page says so on the sign-in screen at once, forgets the credential and shows no
 * alarm as live. A 403 or a gateway that does not answer is not an ended session. A real gateway, Debian chromium.
 */
describe('console: the session ends while the page is open (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);

  const createUser = async (name: string, role: 'viewer' | 'operator'): Promise<void> => {
    expect((await api(gateway, '/api/users', { body: { name, role, password: PASSWORD } })).status).toBe(201);
  };

  /** An open red alarm of `device` (applied to the gateway's alarms), shown on `page` with its banner. */
  const redAlarmOn = async (page: Page, device: string): Promise<string> => {
    gateway.alarms.apply([raised(device, 'red', Date.now() - 60_000)]);
    const alarm = await eventually(
      `the alarm of ${device}`,
      async () => (await api(gateway, `/api/alarms?device=${device}`)).body.alarms[0],
    );
    await rowOf(page, alarm.id).waitFor(BROWSER_WAIT);
    await page.locator('#red-banner').waitFor(BROWSER_WAIT);
    return alarm.id;
  };

  /** Resolves once the page's next poll of the devices has been answered: the ending is then the stream's to find. */
  const devicesPolled = (page: Page): Promise<unknown> =>
    page.waitForResponse((response) => new URL(response.url()).pathname === '/api/devices', BROWSER_WAIT);

  /** The sign-in screen with the notice, nothing of the signed-out session in sight, the tab's token forgotten. */
  const signedOutWithNotice = async (page: Page, notice: string): Promise<void> => {
    await page.locator('#login-error').getByText(notice).waitFor(SIGNED_OUT_WITHIN);
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#console').isVisible()).toBe(false);
    expect(await page.locator('#alarm-rows tr').count()).toBe(0);
    expect(await page.locator('#red-banner').isVisible()).toBe(false);
    expect(await page.locator('#session').isVisible()).toBe(false);
    expect(await page.title()).not.toMatch(/^\(\d+\)/);
    expect(await page.evaluate("sessionStorage.getItem('console.token')")).toBeNull();
  };

  /** Requests to the stream the page makes within `ms` (none: it stopped trying). */
  const streamRequestsWithin = async (page: Page, ms: number): Promise<number> => {
    let count = 0;
    const onRequest = (request: { url(): string }): void => {
      if (new URL(request.url()).pathname === '/api/alarms/stream') count += 1;
    };
    page.on('request', onRequest);
    await page.waitForTimeout(ms);
    page.off('request', onRequest);
    return count;
  };

  it('an admin gives the officer a new password: the console signs out at once, says the session ended (中文), and stops trying', async () => {
    await createUser('王丽', 'operator');
    const page = await openConsole(browser, gateway.httpUrl, contexts, { lang: 'zh' });
    await signInWithPassword(page, '王丽', PASSWORD);
    await redAlarmOn(page, 'p-1');

    await devicesPolled(page);
    const changed = await api(gateway, `/api/users/${encodeURIComponent('王丽')}`, {
      method: 'PATCH',
      body: { password: 'a new and longer passphrase' },
    });
    expect(changed.status).toBe(200);
    await signedOutWithNotice(page, '会话已结束，请重新登录。');
    expect(await streamRequestsWithin(page, 3_000)).toBe(0);
  });

  it('a personal token revoked by an admin: the console signs out at once, forgets the token and says why', async () => {
    await createUser('Li Wei', 'operator');
    // the officer's personal token, made in a session of theirs
    const login = await fetch(`${gateway.httpUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Li Wei', password: PASSWORD }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const made = await fetch(`${gateway.httpUrl}/api/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ label: 'night desk' }),
    });
    const { token, info } = (await made.json()) as { token: string; info: { id: string } };

    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, token, 'Li Wei');
    await redAlarmOn(page, 'p-1');
    expect(await page.evaluate("sessionStorage.getItem('console.token')")).toBe(token);

    await devicesPolled(page);
    expect((await api(gateway, `/api/tokens/${info.id}`, { method: 'DELETE' })).status).toBe(200);
    await signedOutWithNotice(page, 'Your session has ended: sign in again.');
    expect(await streamRequestsWithin(page, 3_000)).toBe(0);
  });

  it('the user removed while on the alarm page: signed out at once', async () => {
    await createUser('Zhao Min', 'viewer');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithPassword(page, 'Zhao Min', PASSWORD);
    const id = await redAlarmOn(page, 'p-1');
    await page.goto(`${gateway.httpUrl}/#/alarms/${id}`);
    await page.locator('dd[data-field="occurrences"]').waitFor(BROWSER_WAIT);

    await devicesPolled(page);
    expect((await api(gateway, `/api/users/${encodeURIComponent('Zhao Min')}`, { method: 'DELETE' })).status).toBe(200);
    await signedOutWithNotice(page, 'Your session has ended: sign in again.');
  });

  it('a gateway that cannot be reached, or a proxy answering 502, is no ended session: the console waits, says so, and carries on', async () => {
    await createUser('Li Wei', 'operator');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithPassword(page, 'Li Wei', PASSWORD);
    const id = await redAlarmOn(page, 'p-1');

    // the gateway gone (no connection at all), then behind a proxy that answers 502 to everything
    let answers: 'none' | 'proxy' = 'none';
    const isSession = (url: string): boolean => new URL(url).pathname === '/auth/session';
    await page
      .context()
      .route(/\/(auth\/session|api\/alarms\/stream)/, (route: Route) =>
        answers === 'none'
          ? route.abort('connectionrefused')
          : route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502 Bad Gateway</h1>' }),
      );
    const refused = page.waitForEvent('requestfailed', { predicate: (request) => isSession(request.url()), ...BROWSER_WAIT });
    gateway.http.app.server.closeAllConnections();
    await page.locator('#connection[data-state="reconnecting"]').waitFor(BROWSER_WAIT);
    await refused; // asked whether the session still holds: no answer
    answers = 'proxy';
    for (let n = 0; n < 2; n += 1)
      await page.waitForResponse((response) => isSession(response.url()) && response.status() === 502, BROWSER_WAIT);

    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#console').isVisible()).toBe(true);
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('reconnecting');
    expect(await page.locator('main').getAttribute('data-feed')).toBe('reconnecting'); // the list fades: not live

    await page.context().unrouteAll();
    await connected(page);
    await rowOf(page, id).waitFor(BROWSER_WAIT);
    expect(await page.locator('#user-name').textContent()).toBe('Li Wei');
  });

  it('a 403 (the role may not do this any more) is no ended session: the refusal is shown and the officer stays signed in', async () => {
    await createUser('Li Wei', 'operator');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithPassword(page, 'Li Wei', PASSWORD);
    gateway.alarms.apply([raised('p-1', 'orange', Date.now() - 60_000)]);
    const alarm = await eventually('the alarm', async () => (await api(gateway, '/api/alarms?device=p-1')).body.alarms[0]);
    const acknowledge = rowOf(page, alarm.id).getByRole('button', { name: 'Acknowledge' });
    await acknowledge.waitFor(BROWSER_WAIT);

    // an admin makes the officer a viewer; the page still offers what the operator could do
    expect((await api(gateway, '/api/users/Li%20Wei', { method: 'PATCH', body: { role: 'viewer' } })).status).toBe(200);
    await acknowledge.click();
    await page.locator('#notice').getByText('(forbidden)').waitFor(BROWSER_WAIT);
    expect(await page.locator('#notice').textContent()).toContain('your role may not do this');
    expect(await page.locator('#login').isVisible()).toBe(false);
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('connected');
    expect((await api(gateway, `/api/alarms/${alarm.id}`)).body.alarm.acknowledged).toBe(false);
  });
});
