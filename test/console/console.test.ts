import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { api, startTestGateway, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { BROWSER_WAIT, launchChromium } from './chromium.js';

// The plants are in China: the console shows times on the officer's wall clock, whatever the server's zone.
const TIME_ZONE = 'Asia/Shanghai';
// A name with markup in it: the console must show it as text, never build elements from it.
const OPERATOR = 'Wang Fang <img src=x onerror=alert(1)>';

/** HH:MM:SS of an instant in the officer's time zone. */
const wallClock = (ms: number): string =>
  new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(
    new Date(ms),
  );

describe('duty-officer console (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  let device: MqttClient;
  let contexts: BrowserContext[] = [];
  let seq = 0;
  let clock = 0;

  const sendHopperTemp = async (value: number): Promise<number> => {
    seq += 1;
    clock += 600_000;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts: clock, seq, metrics: { hopper_temp: value } });
    await gateway.settle();
    return clock;
  };

  /** A new browser context in English (the console's default is Chinese: console-handling.test.ts). */
  const englishPage = async (): Promise<Page> => {
    const context = await browser.newContext({ timezoneId: TIME_ZONE, locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    contexts.push(context);
    await context.addInitScript("localStorage.setItem('console.lang', 'en')");
    const page = await context.newPage();
    await page.goto(gateway.httpUrl);
    return page;
  };

  /** Signs in the other way, with a shared API token and the name it acts as. */
  const signIn = async (token: string, name: string): Promise<Page> => {
    const page = await englishPage();
    await page.getByText('Sign in with an API token instead').click();
    const form = page.locator('#token-form');
    await form.getByLabel('API token').fill(token);
    await form.getByLabel('Your name').fill(name);
    await form.getByRole('button', { name: 'Sign in with the token' }).click();
    await connected(page);
    return page;
  };

  const connected = (page: Page): Promise<void> => page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);

  const hopperRow = (page: Page): Locator =>
    page.locator('#alarm-rows tr', { hasText: 'hopper_temp_high' }).filter({ has: page.getByRole('cell', { name: 'dc-01', exact: true }) });
  const cells = async (row: Locator): Promise<string[]> => (await row.locator('td:not(.check)').allInnerTexts()).map((t) => t.trim());

  const DISPOSAL = { Cause: 'Hopper overheated', 'Measures taken': 'Cooled down; inspected, no smouldering', Responsible: 'Li Wei' };
  const fillDisposal = async (page: Page): Promise<void> => {
    const dialog = page.getByRole('dialog');
    await dialog.waitFor(BROWSER_WAIT);
    for (const [label, value] of Object.entries(DISPOSAL)) await dialog.getByLabel(label, { exact: true }).fill(value);
  };

  const screenshot = async (page: Page, name: string): Promise<void> => {
    const dir = process.env.CONSOLE_SCREENSHOT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  // Each test has its own gateway (and alarms) and browser contexts (and storage).
  beforeEach(async () => {
    gateway = await startTestGateway();
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    seq = 0;
    // Readings ten minutes apart (slow enough not to trip the hopper's rate-of-rise rule), ending before now.
    clock = Date.now() - 60 * 60_000;
  });
  afterEach(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    contexts = [];
    await device?.endAsync();
    await gateway?.close();
  });

  it('refuses an unknown token at sign-in', async () => {
    const page = await englishPage();
    await page.getByText('Sign in with an API token instead').click();
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
    await page.getByText('This token is not accepted by the gateway.').waitFor(BROWSER_WAIT);
    expect(await page.locator('#console').isHidden()).toBe(true);
  });

  it('shows an alarm live, acknowledges it, sees it clear and resolves it', async () => {
    const page = await signIn(TOKENS.operator, OPERATOR);
    const alarmsAtStart = (await api(gateway, '/api/alarms?state=open')).body.count;
    expect(await page.locator('#alarm-rows tr').count()).toBe(alarmsAtStart);

    // A page that reloads would lose this: the row must arrive over the live stream.
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).__sameDocument = true;
    });
    const raisedAt = await sendHopperTemp(75);
    const row = hopperRow(page);
    await row.waitFor(BROWSER_WAIT);
    const [severity, site, deviceId, rule, message, raised, deadline, state, acknowledgedBy] = await cells(row);
    expect(severity).toBe('orange');
    expect(deadline).toBe('—'); // the deadline is off in these tests
    expect(await row.getAttribute('data-severity')).toBe('orange');
    expect([site, deviceId, rule]).toEqual(['site-a', 'dc-01', 'hopper_temp_high']);
    expect(message).toBe('Hopper temperature 75 °C ≥ 70 °C');
    expect(raised).toContain(wallClock(raisedAt));
    expect(raised).toMatch(/\d+ (min|h \d+ min) ago$/);
    expect(state).toBe('active');
    expect(acknowledgedBy).toBe('not acknowledged');
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__sameDocument)).toBe(true);
    await page.locator('#event-log li', { hasText: 'raised' }).filter({ hasText: 'hopper_temp_high' }).waitFor(BROWSER_WAIT);
    expect(await page.title()).toMatch(/^\(\d+\) Alarm console$/);
    await screenshot(page, '1-raised');

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(async () => (await cells(row))[8], BROWSER_WAIT).toBe(OPERATOR);
    expect(await row.locator('img').count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    // Still active: the gateway refuses to close it, and the officer reads why, in the dialog that keeps the record.
    await row.getByRole('button', { name: 'Resolve' }).click();
    await fillDisposal(page);
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await dialog.getByText('(alarm_still_active)').waitFor(BROWSER_WAIT);
    expect(await dialog.locator('#action-refusal').textContent()).toContain('the condition is still active');
    expect(await row.isVisible()).toBe(true);
    await screenshot(page, '2-still-active');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await sendHopperTemp(40);
    await expect.poll(async () => (await cells(row))[7], BROWSER_WAIT).toMatch(/^cleared/);

    // Opened again: what was typed is still there.
    const alarmId = (await row.getAttribute('data-alarm-id'))!;
    await row.getByRole('button', { name: 'Resolve' }).click();
    await dialog.waitFor(BROWSER_WAIT);
    expect(await dialog.getByLabel('Measures taken').inputValue()).toBe(DISPOSAL['Measures taken']);
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await row.waitFor({ state: 'detached', ...BROWSER_WAIT });
    const closed = (await api(gateway, `/api/alarms/${alarmId}`)).body.alarm;
    expect(closed).toMatchObject({ resolved: true, resolvedBy: OPERATOR, acknowledgedBy: OPERATOR });
    expect(closed.disposal).toEqual({ cause: DISPOSAL.Cause, measures: DISPOSAL['Measures taken'], responsible: DISPOSAL.Responsible });
    await page.locator('#event-log li', { hasText: 'resolved' }).filter({ hasText: 'hopper_temp_high' }).waitFor(BROWSER_WAIT);
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__sameDocument)).toBe(true);
    await screenshot(page, '3-resolved');
  });

  it('lets a viewer watch, offers them no action and says they are read-only', async () => {
    const operatorPage = await signIn(TOKENS.operator, 'Li Wei');
    const page = await signIn(TOKENS.viewer, 'Zhao Min');
    await sendHopperTemp(76);
    const row = hopperRow(page);
    await row.waitFor(BROWSER_WAIT);
    await hopperRow(operatorPage).waitFor(BROWSER_WAIT);
    expect((await cells(row))[0]).toBe('orange');

    expect(await hopperRow(operatorPage).getByRole('button', { name: 'Acknowledge' }).count()).toBe(1);
    expect(await row.getByRole('button').count()).toBe(0);
    expect(await page.locator('#readonly-tag').isVisible()).toBe(true);
    expect(await page.locator('#user-role').textContent()).toBe('viewer');
    expect((await cells(row))[8]).toBe('not acknowledged');
    const alarmId = (await row.getAttribute('data-alarm-id'))!;
    expect((await api(gateway, `/api/alarms/${alarmId}`)).body.alarm.acknowledged).toBe(false);
    await screenshot(page, '4-viewer');
  });

  it('says when the live feed drops and catches up on what it missed after reconnecting', async () => {
    const page = await signIn(TOKENS.operator, 'Li Wei');
    await sendHopperTemp(75);
    const row = hopperRow(page);
    await row.waitFor(BROWSER_WAIT);
    expect((await cells(row))[0]).toBe('orange');

    gateway.http.app.server.closeAllConnections();
    await page.locator('#connection[data-state="reconnecting"]', { hasText: 'reconnecting' }).waitFor(BROWSER_WAIT);
    await screenshot(page, '5-reconnecting');
    await sendHopperTemp(85);

    await connected(page);
    expect(await page.locator('#connection').textContent()).toContain('connected');
    await expect.poll(async () => (await cells(row))[0], BROWSER_WAIT).toBe('red');
    // Resumed with Last-Event-ID: the escalation to red that happened while disconnected is in the log too.
    await page
      .locator('#event-log li', { hasText: 'escalated' })
      .filter({ hasText: 'hopper_temp_high' })
      .filter({ hasText: 'red' })
      .waitFor(BROWSER_WAIT);
  });

  it('puts red first when asked, and remembers it and the sign-in across a reload', async () => {
    const page = await signIn(TOKENS.operator, 'Li Wei');
    await sendHopperTemp(85);
    const other = await connectDevice(gateway.mqttUrl, { username: 'dc-02', password: 'secret-dc-02', clientId: 'dc-02' });
    try {
      // dc-02 turns orange after dc-01 went red: newest first puts dc-02 on top.
      await publishJson(other, telemetryTopicOf('site-a', 'dc-02'), { ts: Date.now(), seq: 1, metrics: { hopper_temp: 72 } });
      await gateway.settle();
      const order = (): Promise<(string | null)[]> =>
        page
          .locator('#alarm-rows tr', { hasText: 'hopper_temp_high' })
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-severity')));
      await expect.poll(order, BROWSER_WAIT).toEqual(['orange', 'red']);

      await page.getByLabel('Red first').check();
      await expect.poll(order, BROWSER_WAIT).toEqual(['red', 'orange']);

      await page.reload();
      await connected(page);
      expect(await page.getByLabel('Red first').isChecked()).toBe(true);
      await expect.poll(order, BROWSER_WAIT).toEqual(['red', 'orange']);
      await screenshot(page, '6-red-first');
    } finally {
      await other.endAsync();
    }
  });
});
