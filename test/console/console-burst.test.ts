import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dustFleet, keepReporting, type Reporter, reportOnce } from '../helpers/dust-fleet.js';
import { api, startTestGateway, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { BROWSER_WAIT, launchChromium } from './chromium.js';

const COUNT = 1_500;
const DEVICES = dustFleet(COUNT, ['site-1', 'site-2', 'site-3']);

describe('the console in a burst of alarms (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  let reporters: Reporter[] = [];
  let stopReporting = (): void => undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    gateway = await startTestGateway({ devices: DEVICES, overrides: { influx: { mode: 'off' } } });
  });
  afterAll(async () => {
    stopReporting();
    for (const { session } of reporters) session.destroy();
    await browser?.close();
    await gateway?.close();
  });

  it('a plant-wide outage (1,500 silence alarms in one tick): all shown, the list built a few times, not once per event; then acknowledged and resolved together', async () => {
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    await context.addInitScript("localStorage.setItem('console.lang', 'en')");
    const page = await context.newPage();
    await page.goto(gateway.httpUrl);
    await page.getByText('Sign in with an API token instead').click();
    const form = page.locator('#token-form');
    await form.getByLabel('API token').fill(TOKENS.operator);
    await form.getByLabel('Your name').fill('Li Na');
    await form.getByRole('button', { name: 'Sign in with the token' }).click();
    await page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);
    await page.locator('#alarm-rows').waitFor({ ...BROWSER_WAIT, state: 'attached' });
    // Each rebuild of the list replaces the rows in one go: one mutation record.
    await page.evaluate(`
      window.listBuilds = 0;
      new MutationObserver((records) => { window.listBuilds += records.length; })
        .observe(document.getElementById('alarm-rows'), { childList: true });
    `);

    reporters = await reportOnce(gateway.mqttUrl, DEVICES, Date.now, () => ({ fan_running: true, diff_pressure: 900 }));
    await gateway.settle();
    gateway.tick(Date.now() + 31_000); // the network is down: every device silent in one tick

    await expect.poll(() => page.locator('#alarm-count').textContent(), { timeout: 60_000, interval: 250 }).toBe(String(COUNT));
    expect(await page.locator('#alarm-rows tr').count()).toBe(COUNT);
    await expect.poll(() => page.title(), { timeout: 5_000 }).toMatch(new RegExp(`^\\(${COUNT}\\) `));
    const builds = (await page.evaluate('window.listBuilds')) as number;
    // Once per event was 1,500 builds of up to 1,500 rows (minutes of a frozen page); at most one per 100 ms now.
    expect(builds).toBeGreaterThan(0);
    expect(builds).toBeLessThan(COUNT / 10);

    // The dispatcher handles the outage as one story: every alarm shown checked, acknowledged with one note...
    await page.locator('#check-all').check();
    await expect.poll(() => page.locator('#checked-count').textContent()).toBe(`${COUNT} checked`);
    await page.locator('#bulk-ack').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(`The ${COUNT} checked alarms`).waitFor(BROWSER_WAIT);
    await dialog.getByLabel('Note', { exact: true }).fill('site network down, IT on it');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText(`Acknowledged ${COUNT} alarms.`).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.title(), { timeout: 10_000 }).not.toMatch(/^\(/);
    const listed = async (state: string) =>
      (await api(gateway, `/api/alarms?state=${state}&limit=10000`, { token: TOKENS.viewer })).body.alarms as Array<{
        id: string;
        acknowledgedBy: string | null;
        note: string | null;
        disposal?: { cause: string };
      }>;
    const acked = await listed('open');
    expect(acked).toHaveLength(COUNT);
    expect(acked.every((a) => a.acknowledgedBy === 'Li Na' && a.note === 'site network down, IT on it')).toBe(true);

    // A disposal typed for these alarms and cancelled comes back for the same alarms, not for another choice of them.
    const cause = dialog.getByLabel('Cause', { exact: true });
    await page.locator('#check-all').check();
    await page.locator('#bulk-resolve').click();
    await cause.fill('typed for all of them');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#alarm-rows tr').first().locator('td.check input').uncheck();
    await page.locator('#bulk-resolve').click();
    expect(await cause.inputValue()).toBe('');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#check-all').check();
    await page.locator('#bulk-resolve').click();
    expect(await cause.inputValue()).toBe('typed for all of them');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    // ...and once the network is back and they have cleared, closed with one disposal record.
    for (const { session } of reporters.splice(0)) session.destroy();
    // reporting on, so that none is silent again however long the rest takes
    stopReporting = keepReporting(reporters, 5_000, Date.now, () => ({ fan_running: true, diff_pressure: 900 }));
    await reportOnce(gateway.mqttUrl, DEVICES, Date.now, () => ({ fan_running: true, diff_pressure: 900 }), reporters);
    await expect.poll(async () => (await listed('active')).length, { timeout: 60_000, interval: 500 }).toBe(0);
    await page.locator('#check-all').check();
    await page.locator('#bulk-resolve').click();
    await cause.fill('site network outage: switch power supply failed');
    await dialog.getByLabel('Measures taken', { exact: true }).fill('power supply replaced; every monitor reporting again');
    await dialog.getByLabel('Responsible', { exact: true }).fill('Zhang Wei (IT)');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await page.getByText(`Resolved ${COUNT} alarms with the disposal record.`).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('#alarm-count').textContent(), { timeout: 10_000 }).toBe('0');
    expect(await listed('open')).toEqual([]);
    const closed = await listed('resolved');
    expect(closed).toHaveLength(COUNT);
    expect(closed.every((a) => a.disposal?.cause === 'site network outage: switch power supply failed')).toBe(true);

    // A second request of a bulk action refused (here an id the API refuses as a whole) does not hide what the first
    // did: the console's client answers each alarm of the first with its own outcome, those of the refused one with
    // the refusal's code.
    const ids = [...closed.slice(0, 1_000).map((a) => a.id), 'x'.repeat(201)];
    const disposal = { cause: 'again', measures: 'none', responsible: 'Li Na' };
    const answer = (await page.evaluate(`import('/console/gateway-client.js').then(({ createGatewayClient }) =>
      createGatewayClient(${JSON.stringify(TOKENS.operator)}).actOnMany('resolve', ${JSON.stringify(ids)}, ${JSON.stringify({ by: 'Li Na', disposal })}))`)) as {
      results: Array<{ id: string; ok: boolean; error?: string }>;
      done: number;
      failed: number;
    };
    expect(answer.results.map((r) => r.id)).toEqual(ids);
    expect(answer.results.slice(0, 1_000).every((r) => !r.ok && r.error === 'alarm_resolved')).toBe(true);
    expect(answer.results[1_000]).toEqual({ id: ids[1_000], ok: false, error: 'validation_failed' });
    expect([answer.done, answer.failed]).toEqual([0, 1_001]);
    await context.close();
  }, 180_000);
});
