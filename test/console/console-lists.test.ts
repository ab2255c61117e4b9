import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Severity, VerdictChange } from '../../rules/src/index.js';
import { api, eventually, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { cleared, raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { browserAndGatewayPerTest, openConsole, rowOf, shownIds, signInWithToken, TIME_ZONE } from './console-page.js';

/** HH:MM:SS of an instant on the officer's wall clock. */
const wallClock = (ms: number): string =>
  new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(ms),
  );

/** The ids of a CSV export's rows (the first column). */
const csvIds = (csv: string): string[] =>
  csv
    .replace(/^\uFEFF/, '')
    .trimEnd()
    .split('\r\n')
    .slice(1)
    .map((line) => line.split(',')[0] ?? '');

/**
 * The lists as the officer sees them: the columns a tablet keeps, what the history's filters are, what the export
 * holds, where an alarm raised from a late backlog stands, and counts past the API's page of 10,000. A real gateway,
 * Debian chromium; the alarms are applied to the gateway's book (no device, so no silence rule fires meanwhile).
 */
describe('console: the alarm lists (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);

  const alarmOf = (device: string): Promise<any> =>
    eventually(`the alarm of ${device}`, async () => (await api(gateway, `/api/alarms?device=${device}&state=all`)).body.alarms[0]);
  /** An alarm raised `minutesAgo`, open (active). */
  const activeAlarm = async (device: string, minutesAgo: number, severity: Severity = 'orange'): Promise<any> => {
    gateway.alarms.apply([raised(device, severity, Date.now() - minutesAgo * 60_000)]);
    return alarmOf(device);
  };
  /** An alarm raised `minutesAgo` that has cleared, open (not yet resolved). */
  const clearedAlarm = async (device: string, minutesAgo: number): Promise<any> => {
    const at = Date.now() - minutesAgo * 60_000;
    gateway.alarms.apply([raised(device, 'orange', at)]);
    gateway.alarms.apply([cleared(device, at + 60_000)]);
    return alarmOf(device);
  };
  /** An alarm raised `minutesAgo`, cleared and closed with its disposal record. */
  const closedAlarm = async (device: string, minutesAgo: number): Promise<any> => {
    const alarm = await clearedAlarm(device, minutesAgo);
    const disposal = { cause: 'sensor drift', measures: 'recalibrated', responsible: '张伟' };
    expect((await api(gateway, `/api/alarms/${alarm.id}/resolve`, { body: { by: 'x', disposal } })).status).toBe(200);
    return alarm;
  };
  const signIn = async (options: { width?: number; height?: number } = {}): Promise<Page> => {
    const page = await openConsole(browser, gateway.httpUrl, contexts, options);
    await signInWithToken(page, TOKENS.operator, 'Wang Fang');
    return page;
  };

  it("on a tablet (1024 px) an operator's list keeps the device and the state; the rule and who acknowledged are left out", async () => {
    const alarm = await activeAlarm('p-1', 10);
    const page = await signIn({ width: 1024, height: 768 });
    const row = rowOf(page, alarm.id);
    await row.waitFor(BROWSER_WAIT);
    /** The texts of the cells the browser shows (run in the page: a column left out is display: none). */
    const shown = (selector: string): Promise<string[]> =>
      page.evaluate(
        `[...document.querySelectorAll(${JSON.stringify(selector)})].filter((cell) => getComputedStyle(cell).display !== 'none').map((cell) => cell.innerText.trim())`,
      );
    // every column shown has its heading over it: as many headings as cells, the check box column first
    const headings = await shown('.alarm-table thead th');
    expect(headings).toEqual(['', 'Severity', 'Site', 'Device', 'Message', 'Raised', 'Deadline', 'State', 'Assignee', 'Actions']);
    const cells = await shown(`#alarm-rows tr[data-alarm-id="${alarm.id}"] td`);
    expect(cells).toHaveLength(headings.length);
    expect(cells[headings.indexOf('Device')]).toBe('p-1');
    expect(cells[headings.indexOf('State')]).toBe('active');
    expect(await row.getByText('hopper_temp_high', { exact: true }).isVisible()).toBe(false);
  });

  it('"Overdue only", ticked in the open list, does not narrow the history (where it is not shown)', async () => {
    const closed = await closedAlarm('p-1', 30);
    const page = await signIn();
    await page.locator('#filter-overdue').check();
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([closed.id]);
    expect(await page.locator('#filter-overdue').count()).toBe(0);
    expect(await page.locator('#page-range').textContent()).toBe('1–1 of 1');
  });

  it('the open list\'s export with State "cleared" holds the cleared alarms shown, not the closed history', async () => {
    const active = await activeAlarm('p-1', 5);
    const open = await clearedAlarm('p-2', 20);
    const closed = await closedAlarm('p-3', 40);
    const page = await signIn();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([active.id, open.id]);
    await page.locator('#filter-state').selectOption('cleared');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([open.id]);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path()) as string, 'utf8');
    expect(csvIds(csv)).not.toContain(closed.id);
    expect(csvIds(csv)).toEqual([open.id]);
    expect(csv.startsWith('\uFEFF')).toBe(true); // (Excel reads the Chinese right with it)
    // the rest of the filters still narrow it as the gateway does: State "active" is the API's own
    await page.locator('#filter-state').selectOption('active');
    const [activeDownload] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(csvIds(readFileSync((await activeDownload.path()) as string, 'utf8'))).toEqual([active.id]);
  });

  it('an alarm raised from a late backlog says when it was received and comes in at the top of the list', async () => {
    const recent = await activeAlarm('p-now', 2);
    const page = await signIn();
    await rowOf(page, recent.id).waitFor(BROWSER_WAIT);
    // a device's backlog, uploaded after an outage: a reading of three hours ago, received now
    const receivedAt = Date.now();
    const late: VerdictChange = { ...raised('p-late', 'red', receivedAt - 3 * 3_600_000), receivedAt };
    gateway.alarms.apply([late]);
    const backlog = await alarmOf('p-late');
    expect(backlog.reportedAt).toBe(new Date(receivedAt).toISOString());
    const row = rowOf(page, backlog.id);
    await row.waitFor(BROWSER_WAIT);
    expect(await shownIds(page)).toEqual([backlog.id, recent.id]);
    const raisedCell = (await row.locator('td.time').innerText()).trim();
    expect(raisedCell).toContain(wallClock(receivedAt - 3 * 3_600_000));
    expect(raisedCell).toContain(`received late at`);
    expect(raisedCell).toContain(wallClock(receivedAt));
    expect(await rowOf(page, recent.id).locator('.received-late').count()).toBe(0);

    await row.getByRole('link', { name: 'hot p-late' }).click();
    const reported = page.locator('dd[data-field="reported"]');
    await reported.waitFor(BROWSER_WAIT);
    expect(await reported.innerText()).toContain(wallClock(receivedAt));
    expect(await reported.innerText()).toMatch(/ 3 h 00 min late$/);
  });

  it("past the API's page of 10,000 open alarms the count is the gateway's, and the wall says how many more wait than it lists", async () => {
    const count = 10_050;
    const base = Date.now() - 6 * 3_600_000;
    const changes = Array.from({ length: count }, (_, i) => raised(`q-${i}`, 'yellow', base + i * 1_000, 'site-q'));
    gateway.alarms.apply(changes);
    expect((await api(gateway, '/api/alarms?state=open&limit=1')).body.total).toBe(count);

    const page = await signIn();
    await expect.poll(() => page.locator('#alarm-count').textContent(), { timeout: 60_000 }).toBe(String(count));
    expect(await page.title()).toMatch(new RegExp(`^\\(${count}\\) `));
    await page.getByRole('link', { name: 'Wall', exact: true }).click();
    const site = page.locator('.wall-site[data-site="site-q"]');
    await expect.poll(() => site.locator('.wall-count[data-severity="yellow"] b').innerText(), BROWSER_WAIT).toBe(String(count));
    expect(await page.locator('#wall-ranked li[data-alarm-id]').count()).toBe(30);
    expect(await page.locator('#wall-more').innerText()).toBe(`+${count - 30} more`);
  }, 120_000);
});
