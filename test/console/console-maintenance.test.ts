import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { BROWSER_WAIT, launchChromium } from './chromium.js';

const TIME_ZONE = 'Asia/Shanghai';
const PASSWORD = 'correct horse battery staple';
const USERS = { viewer: '赵敏', operator: '王丽', dispatcher: '李娜' } as const;
type Role = keyof typeof USERS;

/** The officer's wall clock of an instant: `HH:MM:SS` and the `YYYY-MM-DDTHH:MM` a datetime-local input takes. */
const parts = (ms: number): Record<string, string> =>
  Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: TIME_ZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(new Date(ms))
      .map((part) => [part.type, part.value]),
  );
const wallClock = (ms: number): string => {
  const p = parts(ms);
  return `${p.hour}:${p.minute}:${p.second}`;
};
const localInput = (ms: number): string => {
  const p = parts(ms);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
};

/**
 * The console's maintenance windows (维护窗口): declared through its form for a site or a device (from the device's
 * page), listed with who and why, ended with a button; what the roles may; the gateway's validation shown at the
 * form. A real gateway, a real MQTT device, Debian chromium.
 */
describe('console: maintenance windows (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway | null = null;
  let contexts: BrowserContext[] = [];
  let device: MqttClient | null = null;
  let seq = 0;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    contexts = [];
    await device?.endAsync();
    device = null;
    seq = 0;
    await gateway?.close();
    gateway = null;
  });

  const start = async (): Promise<TestGateway> => {
    gateway = await startTestGateway();
    for (const [role, name] of Object.entries(USERS)) {
      const created = await api(gateway, '/api/users', { body: { name, role, password: PASSWORD } });
      expect(created.status).toBe(201);
    }
    return gateway;
  };

  /** A hopper temperature of dc-01 (site-a) at `ts`; waits until the gateway has taken it. */
  const hopper = async (value: number, ts: number): Promise<void> => {
    const running = gateway as TestGateway;
    device ??= await connectDevice(running.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    seq += 1;
    await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), { ts, seq, metrics: { hopper_temp: value } });
    await running.settle();
  };

  const signIn = async (role: Role, lang: 'en' | 'zh' = 'en'): Promise<Page> => {
    const context = await browser.newContext({ timezoneId: TIME_ZONE, locale: 'zh-CN', viewport: { width: 1400, height: 900 } });
    contexts.push(context);
    await context.addInitScript(`localStorage.setItem('console.lang', '${lang}')`);
    const page = await context.newPage();
    await page.goto((gateway as TestGateway).httpUrl);
    await page.getByLabel(lang === 'en' ? 'User name' : '用户名').fill(USERS[role]);
    await page.getByLabel(lang === 'en' ? 'Password' : '密码', { exact: true }).fill(PASSWORD);
    await page.locator('#login-form').getByRole('button').click();
    await page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);
    return page;
  };

  const windowRow = (page: Page, id: string): Locator => page.locator(`#mw-rows tr[data-shelf-id="${id}"]`);
  const shelves = async (): Promise<any[]> => (await api(gateway as TestGateway, '/api/shelves?state=all')).body.shelves;

  const screenshot = async (page: Page, name: string): Promise<void> => {
    const dir = process.env.CONSOLE_SCREENSHOT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  };

  it('an operator declares a site window through the form; it is listed and in GET /api/shelves; an alarm raised on the site meanwhile is held, not pushed; End ends it and the alarm arrives', async () => {
    const running = await start();
    const page = await signIn('operator');
    await page.getByRole('link', { name: 'Maintenance', exact: true }).click();
    const form = page.locator('#mw-form');
    await form.waitFor(BROWSER_WAIT);
    expect(await page.locator('#mw-empty').isVisible()).toBe(true);
    await form.getByLabel('Scope').selectOption('site');
    // the site picker is filled from the device registry the console loads
    await expect.poll(() => page.locator('#mw-site option').allInnerTexts(), BROWSER_WAIT).toEqual(['—', 'site-a', 'site-b']);
    expect(await page.locator('#mw-device').isHidden()).toBe(true);
    await form.getByLabel('Site').selectOption('site-a');
    expect(await form.getByLabel('Starts').inputValue()).toBe('now');
    await form.getByLabel('For (minutes)').fill('120');
    const reason = '除尘器滤袋更换（工单 4711）';
    await form.getByLabel('Reason (work order, what is done)').fill(reason);
    expect(await form.locator('.mw-red').innerText()).toBe("An operator's window never holds red alarms: red is still delivered.");
    const before = Date.now();
    await form.getByRole('button', { name: 'Declare' }).click();

    // in the list at once, with scope, where, from–until on the officer's clock, who and why
    const row = page.locator('#mw-rows tr[data-scope="site"]');
    await row.waitFor(BROWSER_WAIT);
    const id = (await row.getAttribute('data-shelf-id')) as string;
    expect(await row.getAttribute('data-state')).toBe('on');
    await page.locator('#notice', { hasText: 'Maintenance window declared' }).waitFor(BROWSER_WAIT);
    const listed = (await shelves()).find((shelf) => shelf.id === id);
    expect(listed).toMatchObject({
      scope: 'site',
      site: 'site-a',
      device: null,
      reason,
      by: USERS.operator,
      holdsRed: false,
      endedAt: null,
    });
    expect(Date.parse(listed.from)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(listed.until) - Date.parse(listed.from)).toBe(120 * 60_000);
    const cells = await row.locator('td:not(.check)').allInnerTexts();
    expect(cells.slice(0, 3)).toEqual(['on', 'site', 'site-a / whole site']);
    expect(cells[3]).toContain(wallClock(Date.parse(listed.from)));
    expect(cells[3]).toContain(wallClock(Date.parse(listed.until)));
    expect(cells[4]).toContain(USERS.operator);
    expect(cells[5]).toContain(reason);
    expect(await page.locator('#mw-count').innerText()).toBe('1 on, 0 upcoming');
    // the form is ready for the next one
    expect(await form.getByLabel('Reason (work order, what is done)').inputValue()).toBe('');
    await screenshot(page, 'm1-declared');

    // an alarm of a device of the site, raised during the window: held (shelved, in its history), not pushed
    await page.getByRole('link', { name: 'Alarms', exact: true }).click();
    await page.locator('#filters').waitFor(BROWSER_WAIT);
    await hopper(75, Date.now());
    const held = await eventually('the held alarm of dc-01', async () => {
      const { alarms } = (await api(running, '/api/alarms?device=dc-01')).body;
      return alarms.find((alarm: { rule: string }) => alarm.rule === 'hopper_temp_high');
    });
    expect(held.shelved).toMatchObject({ shelf: id, scope: 'site', reason, by: USERS.operator });
    const history = (await api(running, `/api/alarms/${held.id}`)).body.history;
    expect(history[0]).toMatchObject({ type: 'alarm.raised', held: id });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await page.locator(`#alarm-rows tr[data-alarm-id="${held.id}"]`).count()).toBe(0);
    expect(await page.locator(`#event-log a[href="#/alarms/${held.id}"]`).count()).toBe(0);
    // a list fetched again shows it, marked shelved
    await page.reload();
    const heldRow = page.locator(`#alarm-rows tr[data-alarm-id="${held.id}"]`);
    await heldRow.waitFor(BROWSER_WAIT);
    expect(await heldRow.locator('.tag.shelved').innerText()).toBe('shelved');

    // End: asked in the dialog, ended in the gateway, the row moves to the ended; the alarm's state goes out
    await page.getByRole('link', { name: 'Maintenance', exact: true }).click();
    const listedRow = windowRow(page, id);
    await listedRow.waitFor(BROWSER_WAIT);
    await listedRow.getByRole('button', { name: 'End' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(reason).waitFor(BROWSER_WAIT);
    await dialog.getByLabel('Note').fill('filter bags replaced early');
    await dialog.getByRole('button', { name: 'End' }).click();
    await dialog.waitFor({ state: 'hidden', ...BROWSER_WAIT });
    await expect.poll(() => listedRow.getAttribute('data-state'), BROWSER_WAIT).toBe('ended');
    expect(await listedRow.getByRole('button').count()).toBe(0);
    expect(await listedRow.locator('td.mw-ended').innerText()).toContain(`by ${USERS.operator}`);
    const ended = (await api(running, `/api/shelves/${id}`)).body.shelf;
    expect(ended.endedBy).toBe(USERS.operator);
    expect(ended.endedAt).not.toBeNull();
    expect((await shelves()).find((shelf) => shelf.id === id).endedAt).toBe(ended.endedAt);
    const audit = (await api(running, `/api/audit?action=shelf.end&target=${id}`)).body.entries;
    expect(audit).toMatchObject([{ outcome: 'ok', note: 'filter bags replaced early' }]);
    await screenshot(page, 'm2-ended');

    await page.getByRole('link', { name: 'Alarms', exact: true }).click();
    const arrived = page.locator(`#alarm-rows tr[data-alarm-id="${held.id}"]`);
    await expect.poll(() => arrived.locator('.tag.shelved').count(), BROWSER_WAIT).toBe(0);
    await page.locator(`#event-log li[data-type="alarm.unshelved"] a[href="#/alarms/${held.id}"]`).waitFor(BROWSER_WAIT);
    await page.locator(`#event-log li[data-type="alarm.raised"] a[href="#/alarms/${held.id}"]`).waitFor(BROWSER_WAIT);
  });

  it("from a device's page the shortcut opens the form preset to it; without a reason the gateway's validation message is shown at the field; a window until a time", async () => {
    const running = await start();
    const page = await signIn('operator');
    await page.goto(`${running.httpUrl}/#/devices/dc-02`);
    await page.getByRole('link', { name: 'Declare maintenance for this device' }).click();
    expect(new URL(page.url()).hash).toBe('#/maintenance/device/dc-02');
    const form = page.locator('#mw-form');
    await form.waitFor(BROWSER_WAIT);
    expect(await form.getByLabel('Scope').inputValue()).toBe('device');
    await expect.poll(() => form.getByLabel('Device').inputValue(), BROWSER_WAIT).toBe('dc-02');
    expect(await page.locator('#mw-site').isHidden()).toBe(true);
    expect(await page.locator('#mw-reason').evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);

    // the end at a time on the officer's clock; no reason: the gateway refuses, its message beside the field
    const until = Math.floor((Date.now() + 3 * 3_600_000) / 60_000) * 60_000;
    await form.getByLabel('Ends').selectOption('at');
    expect(await page.locator('#mw-minutes').isHidden()).toBe(true);
    await form.getByLabel('Until').fill(localInput(until));
    await form.getByRole('button', { name: 'Declare' }).click();
    const reasonError = page.locator('#mw-reason-error');
    await expect.poll(() => reasonError.innerText(), BROWSER_WAIT).toBe('the reason is required');
    expect(await form.getByLabel('Reason (work order, what is done)').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#mw-refusal').innerText()).toBe(
      'The gateway refused the window: what was entered does not fit (validation_failed)',
    );
    expect(await page.locator('#mw-until').getAttribute('aria-invalid')).toBeNull();
    expect(await shelves()).toEqual([]);
    const refusals = (await api(running, '/api/audit?action=shelf.create')).body.count;
    expect(refusals).toBe(0); // refused by the schema, before the route
    await screenshot(page, 'm3-validation');

    // typing clears the mark; sent again, it is declared for the device
    await form.getByLabel('Reason (work order, what is done)').fill('valve replaced, work order 4712');
    expect(await reasonError.innerText()).toBe('');
    await form.getByRole('button', { name: 'Declare' }).click();
    const row = page.locator('#mw-rows tr[data-scope="device"]');
    await row.waitFor(BROWSER_WAIT);
    expect(new URL(page.url()).hash).toBe('#/maintenance');
    const [shelf] = await shelves();
    expect(shelf).toMatchObject({ scope: 'device', site: 'site-a', device: 'dc-02', reason: 'valve replaced, work order 4712' });
    expect(Date.parse(shelf.until)).toBe(until);
    expect(await row.getAttribute('data-shelf-id')).toBe(shelf.id);
    expect(await row.locator('td.mw-where').innerText()).toBe('site-a / dc-02');
    expect(await row.locator('td.mw-window').innerText()).toContain(wallClock(until));
  });

  it('a viewer sees the windows, on and upcoming before the ended, without the form, End buttons or the device shortcut (Chinese)', async () => {
    const running = await start();
    const declare = async (body: Record<string, unknown>): Promise<any> => {
      const answer = await api(running, '/api/shelves', { token: TOKENS.operator, body: { by: '王丽', ...body } });
      expect(answer.status).toBe(201);
      return answer.body.shelf;
    };
    const ended = await declare({ scope: 'device', device: 'dc-09', reason: '已完成的检修', durationMinutes: 30 });
    expect((await api(running, `/api/shelves/${ended.id}/end`, { token: TOKENS.operator, body: { by: '王丽' } })).status).toBe(200);
    const upcoming = await declare({
      scope: 'site',
      site: 'site-b',
      reason: '明日停产整改',
      from: new Date(Date.now() + 3_600_000).toISOString(),
      durationMinutes: 240,
    });
    const on = await declare({ scope: 'site', site: 'site-a', reason: '滤袋更换', durationMinutes: 60 });

    const page = await signIn('viewer', 'zh');
    const nav = page.locator('nav a[data-section="maintenance"]');
    expect(await nav.innerText()).toBe('维护窗口');
    await nav.click();
    await windowRow(page, ended.id).waitFor(BROWSER_WAIT);
    const order = (): Promise<(string | null)[]> =>
      page.locator('#mw-rows tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-shelf-id')));
    await expect.poll(order, BROWSER_WAIT).toEqual([on.id, upcoming.id, ended.id]);
    const states = await page.locator('#mw-rows tr td:first-child').allInnerTexts();
    expect(states).toEqual(['进行中', '未开始', '已结束']);
    expect(await windowRow(page, on.id).locator('td.mw-reason').innerText()).toContain('滤袋更换');
    expect(await windowRow(page, ended.id).locator('td.mw-ended').innerText()).toContain('由 王丽 结束');
    expect(await page.locator('#mw-count').innerText()).toBe('1 个进行中，1 个未开始');
    expect(await page.locator('#mw-form').count()).toBe(0);
    expect(await page.locator('#mw-rows button').count()).toBe(0);
    expect(await page.locator('#mw-readonly').innerText()).toBe('只读：您的角色不能声明或结束维护窗口。');
    await screenshot(page, 'm4-viewer');

    await page.goto(`${running.httpUrl}/#/devices/dc-01`);
    await page.locator('.device-detail h2').waitFor(BROWSER_WAIT);
    expect(await page.locator('#device-maintenance').count()).toBe(0);
  });
});
