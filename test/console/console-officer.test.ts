import type { Browser, BrowserContext } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { api, eventually, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { AUTOPLAY_RULE, browserAndGatewayPerTest, connected, focusOf, openConsole, rowOf, signInWithToken } from './console-page.js';

/**
 * The officer at the console: whose name a shared token records, the sound of a red alarm after a reload, the
 * keyboard focus while alarms come in. A real gateway, Debian chromium.
 */
describe('console: the name acted as, the sound, the keyboard focus (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);

  /** An open alarm of `device` (applied to the gateway's alarms: no device, no silence rule). */
  const openAlarm = async (device: string, severity: 'red' | 'orange' = 'orange', minutesAgo = 10): Promise<{ id: string }> => {
    gateway.alarms.apply([raised(device, severity, Date.now() - minutesAgo * 60_000)]);
    return eventually(`the alarm of ${device}`, async () => (await api(gateway, `/api/alarms?device=${device}`)).body.alarms[0]);
  };
  const acknowledgedBy = async (id: string): Promise<string | null> => (await api(gateway, `/api/alarms/${id}`)).body.alarm.acknowledgedBy;

  it("a shared token acts under the name given at sign-in, shown in the top bar: never the previous officer's, nor another tab's", async () => {
    const [one, two] = [await openAlarm('p-1'), await openAlarm('p-2')];
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    await page.getByRole('button', { name: 'Sign out' }).click();

    // the next shift, same browser: the name is offered; this officer empties the field and signs in
    await page.locator('.token-login summary').click();
    expect(await page.locator('#login-token-name').inputValue()).toBe('Wang Fang');
    await signInWithToken(page, TOKENS.operator, '');
    // acknowledging asks for a name, rather than recording Wang Fang at one click
    await rowOf(page, one.id).getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    const name = dialog.getByLabel('Your name');
    await name.waitFor(BROWSER_WAIT);
    expect(await name.inputValue()).toBe('');
    expect(await acknowledgedBy(one.id)).toBeNull();
    expect(await page.locator('#acting').textContent()).toBe('acting as: asked at each action');
    await name.fill('Li Wei');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await eventually('acknowledged', async () => ((await acknowledgedBy(one.id)) === 'Li Wei' ? true : undefined));
    await expect.poll(() => page.locator('#acting').textContent(), BROWSER_WAIT).toBe('acting as Li Wei');

    // another tab of the same browser signs in with the token for Zhao Min: this tab still acts as Li Wei
    const other = await page.context().newPage();
    await other.goto(gateway.httpUrl);
    await signInWithToken(other, TOKENS.operator, 'Zhao Min');
    await rowOf(page, two.id).getByRole('button', { name: 'Acknowledge' }).click();
    await eventually('acknowledged', async () => ((await acknowledgedBy(two.id)) !== null ? true : undefined));
    expect(await acknowledgedBy(two.id)).toBe('Li Wei');
    expect(await other.locator('#acting').textContent()).toBe('acting as Zhao Min');
    expect(await page.locator('#acting').textContent()).toBe('acting as Li Wei');
  });

  it('after a reload the console says the alarm sound is off until a click turns it on; a red alarm left unacknowledged beeps again', async () => {
    const page = await openConsole(browser, gateway.httpUrl, contexts, { initScripts: [AUTOPLAY_RULE] });
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    const soundOff = page.locator('#sound-off');
    await page.waitForTimeout(1_500); // the bar shows after a second of silence
    expect(await soundOff.isVisible()).toBe(false); // the sign-in was a click: the sound is on
    const red = await openAlarm('p-1', 'red', 1);
    await rowOf(page, red.id).waitFor(BROWSER_WAIT);

    // a reload (the session restored, no click yet): silent, and it says so
    await page.reload();
    await connected(page);
    await soundOff.getByText('Alarm sound is off').waitFor(BROWSER_WAIT);
    expect(await page.locator('body').getAttribute('data-beeps')).toBeNull();

    await soundOff.click();
    await soundOff.waitFor({ state: 'hidden', ...BROWSER_WAIT });
    // the red alarm waits unacknowledged: it beeps now that it can, and again half a minute later
    await expect.poll(() => page.locator('body').getAttribute('data-beeps'), { timeout: 10_000 }).toBe('1');
    await expect.poll(() => page.locator('body').getAttribute('data-beeps'), { timeout: 45_000 }).toBe('2');
  }, 120_000);

  it('the keyboard focus stays on the control it was on while the list is rebuilt, and the clock rebuilds nothing', async () => {
    const alarm = await openAlarm('p-1');
    const page = await openConsole(browser, gateway.httpUrl, contexts);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    const row = rowOf(page, alarm.id);
    await row.getByRole('button', { name: 'Resolve' }).focus();
    expect(await focusOf(page)).toEqual({ alarmId: alarm.id, text: 'Resolve' });

    // an alarm elsewhere comes in: the list is rebuilt, the focus is where it was
    const other = await openAlarm('p-2', 'orange', 1);
    await rowOf(page, other.id).waitFor(BROWSER_WAIT);
    expect(await focusOf(page)).toEqual({ alarmId: alarm.id, text: 'Resolve' });

    // acknowledged by keyboard: its button goes, the focus stays on the alarm (its next action)
    await row.getByRole('button', { name: 'Acknowledge' }).focus();
    await page.keyboard.press('Enter');
    await eventually('acknowledged', async () => ((await acknowledgedBy(alarm.id)) === 'Wang Fang' ? true : undefined));
    await expect.poll(() => row.getByRole('button', { name: 'Acknowledge' }).count(), BROWSER_WAIT).toBe(0);
    await expect.poll(() => focusOf(page), BROWSER_WAIT).toEqual({ alarmId: alarm.id, text: 'Resolve' });

    // the clock's tick (15 s) brings the times up to date in place: no row is rebuilt, the focus stays (once the
    // feed's own word of the acknowledgement is in, and the list it rebuilt shown)
    await page.locator('#event-log li[data-type="alarm.acknowledged"]').waitFor(BROWSER_WAIT);
    await page.waitForTimeout(500);
    await page.evaluate(`
      window.rowBuilds = 0;
      new MutationObserver((records) => { window.rowBuilds += records.length; })
        .observe(document.getElementById('alarm-rows'), { childList: true });
    `);
    const since = row.locator('.since');
    const before = await since.textContent();
    await page.waitForTimeout(16_000);
    expect(await page.evaluate('window.rowBuilds')).toBe(0);
    expect(await focusOf(page)).toEqual({ alarmId: alarm.id, text: 'Resolve' });
    expect(await since.textContent()).toMatch(/^\d+ min ago$/);
    expect(before).toMatch(/^\d+ min ago$/);
  }, 90_000);
});
