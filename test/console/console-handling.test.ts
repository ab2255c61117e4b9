import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { api, eventually, startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { cleared, raised } from '../support/http-gateway.js';
import { BROWSER_WAIT, launchChromium } from './chromium.js';

const TIME_ZONE = 'Asia/Shanghai';
const PASSWORD = 'correct horse battery staple';
const USERS = { viewer: '赵敏', operator: '王丽', dispatcher: '李娜' } as const;
type Role = keyof typeof USERS;

/**
 * Issue 15, the console: people sign in with a password and see what their role allows; the list is filtered,
 * searched and exported; the detail shows the history and the trend from InfluxDB; the wall counts per site; Chinese
 * and English. A real gateway (and influxd), a real MQTT device, Debian chromium.
 */
describe('console for duty officers and dispatchers (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway | null = null;
  let contexts: BrowserContext[] = [];
  const devices = new Map<string, MqttClient>();
  const seqs = new Map<string, number>();

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    contexts = [];
    for (const device of devices.values()) await device.endAsync();
    devices.clear();
    seqs.clear();
    await gateway?.close();
    gateway = null;
  });

  const start = async (overrides: Record<string, unknown> = {}, now?: () => number): Promise<TestGateway> => {
    gateway = await startTestGateway({ overrides, ...(now ? { now } : {}) });
    for (const [role, name] of Object.entries(USERS)) {
      const created = await api(gateway, '/api/users', { body: { name, role, password: PASSWORD } });
      expect(created.status).toBe(201);
    }
    return gateway;
  };

  const SITES: Record<string, string> = { 'dc-01': 'site-a', 'dc-02': 'site-a', 'dc-09': 'site-b' };
  /** One reading of the hopper temperature from `device`, at `ts` (ms); waits until the gateway has taken it. */
  const hopper = async (device: string, value: number, ts: number): Promise<void> => {
    const running = gateway as TestGateway;
    let client = devices.get(device);
    if (!client) {
      client = await connectDevice(running.mqttUrl, { username: device, password: `secret-${device}`, clientId: device });
      devices.set(device, client);
    }
    const seq = (seqs.get(device) ?? 0) + 1;
    seqs.set(device, seq);
    await publishJson(client, telemetryTopicOf(SITES[device] as string, device), { ts, seq, metrics: { hopper_temp: value } });
    await running.settle();
  };

  const openAlarmOf = (device: string): Promise<any> =>
    eventually(`the open alarm of ${device}`, async () => {
      const { alarms } = (await api(gateway as TestGateway, `/api/alarms?device=${device}`)).body;
      return alarms.find((a: { rule: string }) => a.rule === 'hopper_temp_high');
    });

  const newPage = async (options: { lang?: 'en' | 'zh'; width?: number; height?: number } = {}): Promise<Page> => {
    const context = await browser.newContext({
      timezoneId: TIME_ZONE,
      locale: 'zh-CN',
      viewport: { width: options.width ?? 1400, height: options.height ?? 900 },
      acceptDownloads: true,
    });
    contexts.push(context);
    if (options.lang) await context.addInitScript(`localStorage.setItem('console.lang', '${options.lang}')`);
    const page = await context.newPage();
    await page.goto((gateway as TestGateway).httpUrl);
    return page;
  };

  /** Signs in with a user name and password (English unless asked otherwise). */
  const signIn = async (role: Role, options: { lang?: 'en' | 'zh'; width?: number; height?: number } = {}): Promise<Page> => {
    const page = await newPage({ lang: 'en', ...options });
    const en = (options.lang ?? 'en') === 'en';
    await page.getByLabel(en ? 'User name' : '用户名').fill(USERS[role]);
    await page.getByLabel(en ? 'Password' : '密码', { exact: true }).fill(PASSWORD);
    await page.locator('#login-form').getByRole('button').click();
    await page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);
    return page;
  };

  const rowOf = (page: Page, alarmId: string): Locator => page.locator(`#alarm-rows tr[data-alarm-id="${alarmId}"]`);
  const shownIds = (page: Page): Promise<string[]> =>
    page.locator('#alarm-rows tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-alarm-id') ?? ''));

  const screenshot = async (page: Page, name: string): Promise<void> => {
    const dir = process.env.CONSOLE_SCREENSHOT_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  };

  it('signs in with a password, shows who and the role, offers a viewer no action, signs out', async () => {
    const running = await start();
    await hopper('dc-01', 75, Date.now() - 20 * 60_000);
    const alarm = await openAlarmOf('dc-01');

    const refused = await newPage({ lang: 'en' });
    await refused.getByLabel('User name').fill(USERS.operator);
    await refused.getByLabel('Password', { exact: true }).fill('not the password');
    await refused.locator('#login-form').getByRole('button').click();
    await refused.getByText('Wrong user name or password.').waitFor(BROWSER_WAIT);
    expect(await refused.locator('#console').isHidden()).toBe(true);

    const viewer = await signIn('viewer');
    expect(await viewer.locator('#user-name').textContent()).toBe(USERS.viewer);
    expect(await viewer.locator('#user-role').textContent()).toBe('viewer');
    const row = rowOf(viewer, alarm.id);
    await row.waitFor(BROWSER_WAIT);
    expect(await row.getByRole('button').count()).toBe(0);
    // nor on the alarm's own page
    await viewer.locator(`a[href="#/alarms/${alarm.id}"]`).first().click();
    await viewer.locator('#alarm-history li').first().waitFor(BROWSER_WAIT);
    expect(await viewer.locator('.detail-actions button').count()).toBe(0);
    await screenshot(viewer, 'h1-viewer-detail');

    const dispatcher = await signIn('dispatcher');
    expect(await dispatcher.locator('#user-role').textContent()).toBe('dispatcher');
    const buttons = await rowOf(dispatcher, alarm.id).getByRole('button').allInnerTexts();
    expect(buttons).toEqual(['Acknowledge', 'Assign', 'Resolve']);

    await viewer.getByRole('button', { name: 'Sign out' }).click();
    await viewer.locator('#login-form').waitFor(BROWSER_WAIT);
    await viewer.reload();
    await viewer.locator('#login-form').waitFor(BROWSER_WAIT);
    expect(await viewer.locator('#console').isHidden()).toBe(true);
    // the audit log has the logins, by name
    const audit = (await api(running, '/api/audit?action=session.login')).body.entries.map((e: { actor: string }) => e.actor);
    expect(audit).toEqual(expect.arrayContaining([USERS.viewer, USERS.dispatcher]));
  });

  it('an operator acknowledges; a dispatcher assigns and resolves with a disposal record, refused before sending while a field is missing, nothing typed lost', async () => {
    const running = await start();
    const t0 = Date.now() - 40 * 60_000;
    await hopper('dc-01', 75, t0);
    const alarm = await openAlarmOf('dc-01');

    const operator = await signIn('operator');
    const operatorRow = rowOf(operator, alarm.id);
    await operatorRow.waitFor(BROWSER_WAIT);
    expect(await operatorRow.getByRole('button', { name: 'Assign' }).count()).toBe(0);
    await operatorRow.getByRole('button', { name: 'Acknowledge' }).click();
    await expect
      .poll(async () => (await operatorRow.locator('td:not(.check)').nth(8).innerText()).trim(), BROWSER_WAIT)
      .toBe(USERS.operator);
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm).toMatchObject({
      acknowledged: true,
      acknowledgedBy: USERS.operator,
    });

    const page = await signIn('dispatcher');
    const row = rowOf(page, alarm.id);
    await row.waitFor(BROWSER_WAIT);
    const dialog = page.getByRole('dialog');

    // assign: the responsible person is required
    await row.getByRole('button', { name: 'Assign' }).click();
    await dialog.getByRole('button', { name: 'Assign' }).click();
    await dialog.getByText('Fill in the marked fields first.').waitFor(BROWSER_WAIT);
    expect(await dialog.getByLabel('Responsible person').getAttribute('aria-invalid')).toBe('true');
    await dialog.getByLabel('Note').fill('check the valve today');
    await dialog.getByRole('button', { name: 'Assign' }).click();
    expect(await dialog.getByLabel('Note').inputValue()).toBe('check the valve today');
    await dialog.getByLabel('Responsible person').fill('张伟');
    await dialog.getByRole('button', { name: 'Assign' }).click();
    await dialog.waitFor({ state: 'hidden', ...BROWSER_WAIT });
    await expect.poll(async () => (await row.locator('td:not(.check)').nth(9).innerText()).trim(), BROWSER_WAIT).toBe('张伟');
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm.assignee).toBe('张伟');

    await hopper('dc-01', 40, t0 + 10 * 60_000);
    await expect.poll(async () => row.getAttribute('data-state'), BROWSER_WAIT).toBe('cleared');

    // resolve: cause and responsible typed, the measures forgotten: refused here, not sent, nothing lost
    await row.getByRole('button', { name: 'Resolve' }).click();
    await dialog.getByLabel('Cause').fill('星型卸灰阀轴承过热');
    await dialog.getByLabel('Responsible', { exact: true }).fill('张伟');
    await dialog.getByLabel('Attachment link (optional)').fill('not a link');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await dialog.getByText('Fill in the marked fields first.').waitFor(BROWSER_WAIT);
    expect(await dialog.getByLabel('Measures taken').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.getByLabel('Attachment link (optional)').getAttribute('aria-invalid')).toBe('true');
    expect(await dialog.getByLabel('Cause').getAttribute('aria-invalid')).toBeNull();
    expect(await dialog.getByLabel('Cause').inputValue()).toBe('星型卸灰阀轴承过热');
    await screenshot(page, 'h2-resolve-refused-here');
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm.resolved).toBe(false);
    const resolveAudits = (await api(running, `/api/audit?action=alarm.resolve&target=${alarm.id}`)).body.count;
    expect(resolveAudits).toBe(0);

    // closed and opened again: the draft is still there
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await row.getByRole('button', { name: 'Resolve' }).click();
    expect(await dialog.getByLabel('Cause').inputValue()).toBe('星型卸灰阀轴承过热');
    await dialog.getByLabel('Measures taken').fill('valve stopped, bearing replaced');
    await dialog.getByLabel('Attachment link (optional)').fill('https://wo.example.org/orders/4711');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await row.waitFor({ state: 'detached', ...BROWSER_WAIT });
    const closed = (await api(running, `/api/alarms/${alarm.id}`)).body;
    expect(closed.alarm).toMatchObject({
      resolved: true,
      resolvedBy: USERS.dispatcher,
      disposal: {
        cause: '星型卸灰阀轴承过热',
        measures: 'valve stopped, bearing replaced',
        responsible: '张伟',
        attachment: 'https://wo.example.org/orders/4711',
      },
    });

    // the alarm's page: history with who did what, the disposal record
    await page.goto(`${running.httpUrl}/#/alarms/${alarm.id}`);
    // the full history, as the API has it (the rule may also have escalated it on its way up)
    const types = closed.history.map((step: { type: string }) => step.type);
    expect(types.filter((type: string) => type !== 'alarm.escalated')).toEqual([
      'alarm.raised',
      'alarm.acknowledged',
      'alarm.assigned',
      'alarm.cleared',
      'alarm.resolved',
    ]);
    const history = page.locator('#alarm-history li');
    await expect
      .poll(async () => history.evaluateAll((items) => items.map((li) => li.getAttribute('data-type'))), BROWSER_WAIT)
      .toEqual(types);
    expect(await history.nth(types.indexOf('alarm.assigned')).innerText()).toContain('to 张伟');
    expect(await history.nth(types.indexOf('alarm.acknowledged')).innerText()).toContain(`by ${USERS.operator}`);
    expect(await history.nth(types.indexOf('alarm.resolved')).innerText()).toContain('valve stopped, bearing replaced');
    await screenshot(page, 'h3-resolved-detail');
  });

  it('an acknowledgement names the occurrence shown: a return that came while it was on its way is not acknowledged, alone or checked with others', async () => {
    const running = await start();
    const t0 = Date.now() - 30 * 60_000;
    await hopper('dc-01', 75, t0);
    await hopper('dc-02', 90, t0);
    const [one, two] = [await openAlarmOf('dc-01'), await openAlarmOf('dc-02')];
    const page = await signIn('operator');
    await rowOf(page, one.id).waitFor(BROWSER_WAIT);
    await rowOf(page, two.id).waitFor(BROWSER_WAIT);
    /** The device's alarm clears and comes back while the request is on its way, before the gateway reads it. */
    const returnsMeanwhile = async (path: string, device: string, at: number): Promise<void> => {
      await page.route(path, async (route) => {
        await hopper(device, 40, at);
        await hopper(device, 80, at + 60_000);
        await route.continue();
      });
    };

    await returnsMeanwhile('**/api/alarms/*/ack', 'dc-01', t0 + 5 * 60_000);
    await rowOf(page, one.id).getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText(/came back since it was shown.*\(alarm_reoccurred\)/).waitFor(BROWSER_WAIT);
    expect((await api(running, `/api/alarms/${one.id}`)).body.alarm).toMatchObject({ occurrences: 2, acknowledged: false });
    await page.unroute('**/api/alarms/*/ack');
    // the list follows the live feed to the return; acknowledged now, knowingly
    await expect.poll(async () => rowOf(page, one.id).getAttribute('data-state'), BROWSER_WAIT).toBe('active');
    await rowOf(page, one.id).getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(async () => (await api(running, `/api/alarms/${one.id}`)).body.alarm.acknowledged, BROWSER_WAIT).toBe(true);

    await returnsMeanwhile('**/api/alarms/ack', 'dc-02', t0 + 5 * 60_000);
    await rowOf(page, two.id).locator('td.check input').check();
    await page.locator('#bulk-ack').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Acknowledge' }).click();
    // the reason in words, its code beside it
    await page
      .getByText(
        'Acknowledged 0 alarms. 1 could not be: the alarm cleared and came back since it was shown; look at it again, then acknowledge (alarm_reoccurred).',
      )
      .waitFor(BROWSER_WAIT);
    expect((await api(running, `/api/alarms/${two.id}`)).body.alarm).toMatchObject({ occurrences: 2, acknowledged: false });
  });

  it('filters and search narrow the list; the CSV export holds the rows shown; closed alarms page in the history', async () => {
    const running = await start();
    const t0 = Date.now() - 50 * 60_000;
    await hopper('dc-01', 75, t0);
    await hopper('dc-02', 90, t0 + 60_000);
    await hopper('dc-09', 76, t0 + 120_000);
    const [a1, a2, a9] = [await openAlarmOf('dc-01'), await openAlarmOf('dc-02'), await openAlarmOf('dc-09')];
    expect(a2.severity).toBe('red');

    const page = await signIn('dispatcher');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a9.id, a2.id, a1.id]);

    await page.locator('#filter-site').selectOption('site-a');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a2.id, a1.id]);
    await page.locator('#filter-severity').selectOption('red');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a2.id]);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a9.id, a2.id, a1.id]);
    await page.locator('#filter-q').fill('DC-09');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a9.id]);
    await page.locator('#filter-q').fill('');
    await page.locator('#filter-site').selectOption('site-a');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a2.id, a1.id]);
    await screenshot(page, 'h4-filtered');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path()) as string, 'utf8').replace(/^\uFEFF/, '');
    const csvIds = csv
      .trimEnd()
      .split('\r\n')
      .slice(1)
      .map((line) => line.split(',')[0]);
    expect(new Set(csvIds)).toEqual(new Set(await shownIds(page)));

    // the history: closed alarms, a page at a time
    await hopper('dc-01', 40, t0 + 10 * 60_000);
    await eventually('cleared', async () =>
      (await api(running, `/api/alarms/${a1.id}`)).body.alarm.state === 'cleared' ? true : undefined,
    );
    const disposal = { cause: 'sensor drift', measures: 'recalibrated', responsible: '张伟' };
    expect((await api(running, `/api/alarms/${a1.id}/resolve`, { body: { by: 'x', disposal } })).status).toBe(200);
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a2.id]);
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a1.id]);
    expect(await page.locator('#page-range').textContent()).toBe('1–1 of 1');
    await page.locator('#filter-q').fill('recalibrated');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([a1.id]);
    await page.locator('#filter-q').fill('no such words');
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([]);
  });

  it('turns the history a page at a time: an alarm closed meanwhile neither repeats a row on the next page nor hides one', async () => {
    const running = await start();
    const base = Date.now() - 3 * 3_600_000;
    /** One alarm raised at `at`, cleared and closed with a record; its id. */
    const closedAlarm = async (device: string, at: number): Promise<string> => {
      running.alarms.apply([raised(device, 'orange', at)]);
      running.alarms.apply([cleared(device, at + 1_000)]);
      const { id } = (await api(running, `/api/alarms?device=${device}`)).body.alarms[0];
      const disposal = { cause: 'test', measures: 'none', responsible: '张伟' };
      expect((await api(running, `/api/alarms/${id}/resolve`, { body: { by: 'x', disposal } })).status).toBe(200);
      return id;
    };
    const ids: string[] = [];
    for (let i = 0; i < 52; i++) ids.unshift(await closedAlarm(`p-${i}`, base + i * 60_000)); // newest first
    const page = await signIn('dispatcher');
    await page.getByRole('link', { name: 'History', exact: true }).click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual(ids.slice(0, 50));
    expect(await page.locator('#page-range').textContent()).toBe('1–50 of 52');

    // one more closed, raised after all of them, while the first page is shown
    const newest = await closedAlarm('p-new', base + 100 * 60_000);
    await page.locator('#page-next').click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual(ids.slice(50));
    expect(await page.locator('#page-range').textContent()).toBe('52–53 of 53');
    expect(await page.locator('#page-next').isDisabled()).toBe(true);
    await page.locator('#page-prev').click();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([newest, ...ids.slice(0, 49)]);
    expect(await page.locator('#page-prev').isDisabled()).toBe(true);
  });

  it('the alarm page (the link of the robot messages) shows value, threshold, rule, source, history and the trend from InfluxDB', async () => {
    const running = await start();
    const t0 = Date.now() - 50 * 60_000;
    const readings = [55, 60, 66, 75, 78];
    for (const [i, value] of readings.entries()) await hopper('dc-01', value, t0 + i * 5 * 60_000);
    const raised = await openAlarmOf('dc-01');
    const alarm = (await api(running, `/api/alarms/${raised.id}/assign`, { body: { to: '张伟', by: 'x' } })).body.alarm;
    const types = (await api(running, `/api/alarms/${alarm.id}`)).body.history.map((step: { type: string }) => step.type);
    expect(types.filter((type: string) => type !== 'alarm.escalated')).toEqual(['alarm.raised', 'alarm.assigned']);
    // the readings are in influxd
    await eventually('the readings in influxd', async () => {
      const trend = await api(running, `/api/devices/dc-01/trend?metric=hopper_temp&from=${new Date(t0 - 1).toISOString()}`);
      return trend.body.points?.length === readings.length ? true : undefined;
    });

    const page = await signIn('operator');
    await page.goto(`${running.httpUrl}/#/alarms/${alarm.id}`);
    const facts = page.locator('.facts');
    await facts.waitFor(BROWSER_WAIT);
    const fact = async (field: string): Promise<string> => (await facts.locator(`dd[data-field="${field}"]`).innerText()).trim();
    expect(await fact('value')).toBe(`${alarm.value} °C`);
    expect([75, 78]).toContain(alarm.value);
    expect(await fact('threshold')).toBe('70 °C');
    expect(await fact('rule')).toBe('hopper_temp_high');
    expect(await fact('source')).toBe(alarm.source);
    expect(await fact('assignee')).toBe('张伟');
    expect(await page.locator('#detail-title').innerText()).toContain(alarm.message);
    await expect
      .poll(
        async () => page.locator('#alarm-history li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type'))),
        BROWSER_WAIT,
      )
      .toEqual(types);
    // the trend: every reading of the hour before the alarm and after, the threshold line
    const figure = page.locator('#alarm-trend figure');
    await figure.waitFor(BROWSER_WAIT);
    expect(await figure.getAttribute('data-points')).toBe(String(readings.length));
    expect(await figure.locator('circle').count()).toBe(readings.length);
    expect(await figure.locator('.threshold-label').textContent()).toBe('threshold 70 °C');
    // an operator's actions: no Assign (the dispatcher's)
    expect(await page.locator('.detail-actions button').allInnerTexts()).toEqual(['Acknowledge', 'Resolve', 'Shelve']);
    await screenshot(page, 'h5-detail-trend');

    // the device page: last values with units, online, its alarms
    await page.locator('.alarm-detail .where a').click();
    const detail = page.locator('.device-detail');
    await detail.locator('.value[data-metric="hopper_temp"]').waitFor(BROWSER_WAIT);
    expect(await detail.locator('.value[data-metric="hopper_temp"]').innerText()).toBe('hopper_temp 78 °C');
    expect(await detail.locator('h2 .online').innerText()).toContain('online');
    expect(await detail.locator('.device-alarms li').count()).toBe(1);
    await detail.locator('#device-trend figure').waitFor(BROWSER_WAIT);
    await page.getByRole('link', { name: 'Devices', exact: true }).click();
    const board = page.locator('#device-rows tr[data-device-id="dc-01"]');
    await board.waitFor(BROWSER_WAIT);
    expect(await board.getAttribute('data-online')).toBe('true');
    expect(await board.locator('.value[data-metric="hopper_temp"]').innerText()).toBe('hopper_temp 78 °C');
    expect(await page.locator('#device-rows tr[data-device-id="dc-09"] .offline').count()).toBe(1);
  });

  it('shows the time left to the same-day deadline, highlights an overdue alarm and filters by it', async () => {
    // the gateway's clock two days behind, then caught up: an alarm raised two days ago (its day's deadline has
    // passed), and one raised now (today's is ahead). A reading sent two days late would count from its arrival.
    let behind = 2 * 86_400_000;
    const running = await start({ handling: { deadline: { enabled: true } } }, () => Date.now() - behind);
    await hopper('dc-01', 75, Date.now() - behind);
    behind = 0;
    await hopper('dc-09', 76, Date.now() - 30_000);
    const late = await eventually('the overdue alarm', async () => {
      const { alarms } = (await api(running, '/api/alarms?overdue=true')).body;
      return alarms[0];
    });
    const onTime = await openAlarmOf('dc-09');
    expect(late.device).toBe('dc-01');
    expect(onTime.overdue ?? false).toBe(false);

    const page = await signIn('dispatcher');
    const lateRow = rowOf(page, late.id);
    await lateRow.waitFor(BROWSER_WAIT);
    expect(await lateRow.getAttribute('class')).toContain('is-overdue');
    expect(await lateRow.locator('.deadline.overdue').innerText()).toMatch(/^overdue by \d+ d \d+ h$/);
    expect(await rowOf(page, onTime.id).locator('.deadline').innerText()).toMatch(/^(\d+ h \d+ min|\d+ min|\d+ s) left$/);
    expect(await rowOf(page, onTime.id).locator('.deadline.overdue').count()).toBe(0);
    expect(await page.locator('#alarm-summary .chip.overdue').innerText()).toBe('1 overdue');

    await page.locator('#filter-overdue').check();
    await expect.poll(() => shownIds(page), BROWSER_WAIT).toEqual([late.id]);
    await screenshot(page, 'h10-overdue');

    await page.getByRole('link', { name: 'Wall', exact: true }).click();
    await expect
      .poll(async () => page.locator('.wall-site[data-site="site-a"] [data-stat="overdue"]').innerText(), BROWSER_WAIT)
      .toBe('1 overdue');
    expect(await page.locator('#wall-ranked li').first().getAttribute('data-alarm-id')).toBe(late.id);
  });

  it('an operator shelves an alarm from its page (reason and minutes required) and unshelves it; both are in its history', async () => {
    const running = await start();
    await hopper('dc-01', 75, Date.now() - 10 * 60_000);
    const alarm = await openAlarmOf('dc-01');
    const page = await signIn('operator');
    await page.goto(`${running.httpUrl}/#/alarms/${alarm.id}`);
    const actions = page.locator('.detail-actions');
    await actions.getByRole('button', { name: 'Shelve' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('known fault, fitter on the way');
    await dialog.getByRole('button', { name: 'Shelve' }).click();
    await dialog.getByText('Fill in the marked fields first.').waitFor(BROWSER_WAIT);
    expect(await dialog.getByLabel('For (minutes)').getAttribute('aria-invalid')).toBe('true');
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm.shelved ?? null).toBeNull();
    await dialog.getByLabel('For (minutes)').fill('120');
    await dialog.getByRole('button', { name: 'Shelve' }).click();
    await dialog.waitFor({ state: 'hidden', ...BROWSER_WAIT });
    await page.locator('dd[data-field="shelved"]', { hasText: 'known fault, fitter on the way' }).waitFor(BROWSER_WAIT);
    expect((await api(running, `/api/alarms/${alarm.id}`)).body.alarm.shelved).toMatchObject({ reason: 'known fault, fitter on the way' });
    const types = (): Promise<(string | null)[]> =>
      page.locator('#alarm-history li').evaluateAll((items) => items.map((li) => li.getAttribute('data-type')));
    await expect.poll(types, BROWSER_WAIT).toContain('alarm.shelved');
    expect(await page.locator('#alarm-history li[data-type="alarm.shelved"]').innerText()).toContain(`shelved by ${USERS.operator}`);

    await actions.getByRole('button', { name: 'Unshelve' }).click();
    await dialog.getByRole('button', { name: 'Unshelve' }).click();
    await expect.poll(types, BROWSER_WAIT).toContain('alarm.unshelved');
    expect(await actions.getByRole('button', { name: 'Shelve' }).count()).toBe(1);
    await screenshot(page, 'h9-shelved-history');
  });

  it('says so when InfluxDB is off: no trend, a stable code', async () => {
    const running = await start({ influx: { mode: 'off' } });
    await hopper('dc-01', 75, Date.now() - 10 * 60_000);
    const alarm = await openAlarmOf('dc-01');
    const page = await signIn('viewer');
    await page.goto(`${running.httpUrl}/#/alarms/${alarm.id}`);
    const unavailable = page.locator('#alarm-trend .trend-unavailable');
    await unavailable.waitFor(BROWSER_WAIT);
    expect(await unavailable.getAttribute('data-code')).toBe('trend_unavailable');
    expect(await unavailable.textContent()).toBe('No trend: no InfluxDB is configured, so there is no trend.');
  });

  it("the dispatcher's wall at 1920×1080: each site's counts by severity, unacknowledged, overdue, today's disposal rate; a new red beeps and flashes", async () => {
    const running = await start();
    const now = Date.now();
    // seconds in the past, not minutes: the wall counts from the browser's midnight (Asia/Shanghai)
    await hopper('dc-02', 75, now - 20_000);
    await hopper('dc-02', 40, now - 15_000);
    const cleared = await eventually('dc-02 cleared', async () => {
      const { alarms } = (await api(running, '/api/alarms?device=dc-02&state=cleared')).body;
      return alarms[0];
    });
    const disposal = { cause: 'c', measures: 'm', responsible: 'r' };
    expect((await api(running, `/api/alarms/${cleared.id}/resolve`, { body: { by: 'x', disposal } })).status).toBe(200);
    await hopper('dc-09', 76, now - 10_000);
    const onB = await openAlarmOf('dc-09');
    await api(running, `/api/alarms/${onB.id}/ack`, { body: { by: 'x' } });

    const page = await signIn('dispatcher', { width: 1920, height: 1080 });
    await page.evaluate(() => {
      // a page that reloads would lose this: the wall must follow the stream
      (globalThis as Record<string, unknown>).__same = true;
    });
    await page.getByRole('link', { name: 'Wall', exact: true }).click();
    const site = (name: string): Locator => page.locator(`.wall-site[data-site="${name}"]`);
    const count = async (name: string, severity: string): Promise<string> =>
      (await site(name).locator(`.wall-count[data-severity="${severity}"] b`).innerText()).trim();
    const stat = async (name: string, which: string): Promise<string> =>
      (await site(name).locator(`[data-stat="${which}"]`).innerText()).trim();
    await site('site-a').waitFor(BROWSER_WAIT);
    await expect.poll(() => stat('site-a', 'rate'), BROWSER_WAIT).toBe('disposed today 100% (1/1)');
    expect(await count('site-a', 'red')).toBe('0');
    expect(await count('site-b', 'orange')).toBe('1');
    expect(await stat('site-b', 'unacked')).toBe('0 not acknowledged');
    expect(await stat('site-b', 'rate')).toBe('disposed today 0% (0/1)');

    // a new red on site-a: counted, ranked first among the waiting, a banner, a beep
    await hopper('dc-01', 90, Date.now() - 30_000);
    await expect.poll(() => count('site-a', 'red'), BROWSER_WAIT).toBe('1');
    expect(await stat('site-a', 'unacked')).toBe('1 not acknowledged');
    await expect.poll(() => stat('site-a', 'rate'), BROWSER_WAIT).toBe('disposed today 50% (1/2)');
    const first = page.locator('#wall-ranked li').first();
    expect(await first.innerText()).toContain('site-a / dc-01');
    await page.locator('#red-banner', { hasText: 'New red alarm' }).waitFor(BROWSER_WAIT);
    // the beep: the WebAudio context started at the sign-in click, and the console counts what it played
    expect(await page.locator('body').getAttribute('data-beeps')).toBe('1');
    // another red right after: the banner shows it, no second beep on top of the first (a burst beeps once)
    await hopper('dc-02', 91, Date.now());
    await page.locator('#red-banner', { hasText: 'dc-02' }).waitFor(BROWSER_WAIT);
    expect(await page.locator('body').getAttribute('data-beeps')).toBe('1');
    expect(await page.evaluate(() => (globalThis as Record<string, unknown>).__same)).toBe(true);
    const box = await page.locator('#wall-sites').boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(1920);
    await screenshot(page, 'h6-wall');
  });

  it('Chinese by default, English at a click, remembered; labels and alarm messages change', async () => {
    await start();
    await hopper('dc-01', 75, Date.now() - 10 * 60_000);
    const alarm = await openAlarmOf('dc-01');
    expect(alarm.messageZh).toBeTruthy();

    const page = await newPage();
    expect(await page.locator('#login-form button').innerText()).toBe('登录');
    await page.getByLabel('用户名').fill(USERS.operator);
    await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
    await page.locator('#login-form').getByRole('button').click();
    const row = rowOf(page, alarm.id);
    await row.waitFor(BROWSER_WAIT);
    expect(await page.locator('nav a[data-section="alarms"]').innerText()).toBe('报警');
    expect(await page.locator('#user-role').innerText()).toBe('值班员');
    expect((await row.locator('td.message').innerText()).trim()).toBe(alarm.messageZh);
    expect(await row.getByRole('button').first().innerText()).toBe('确认');
    expect((await row.locator('td:not(.check)').first().innerText()).trim()).toBe('橙 orange');
    await screenshot(page, 'h7-chinese');

    await page.getByRole('button', { name: 'English' }).click();
    await expect.poll(() => page.locator('nav a[data-section="alarms"]').innerText(), BROWSER_WAIT).toBe('Alarms');
    expect((await rowOf(page, alarm.id).locator('td.message').innerText()).trim()).toBe(alarm.message);
    expect(await rowOf(page, alarm.id).getByRole('button').first().innerText()).toBe('Acknowledge');
    await page.reload();
    await rowOf(page, alarm.id).waitFor(BROWSER_WAIT);
    expect(await page.locator('nav a[data-section="alarms"]').innerText()).toBe('Alarms');
    expect((await rowOf(page, alarm.id).locator('td.message').innerText()).trim()).toBe(alarm.message);
    await page.getByRole('button', { name: '中文' }).click();
    await expect.poll(() => page.locator('nav a[data-section="alarms"]').innerText(), BROWSER_WAIT).toBe('报警');
  });

  it.each([
    [1366, 768],
    [1024, 768],
    [768, 1024],
  ])('at %i×%i the action buttons stay in view', async (width, height) => {
    await start();
    await hopper('dc-01', 75, Date.now() - 10 * 60_000);
    const alarm = await openAlarmOf('dc-01');
    const page = await signIn('dispatcher', { width, height });
    const row = rowOf(page, alarm.id);
    await row.waitFor(BROWSER_WAIT);
    for (const name of ['Acknowledge', 'Assign', 'Resolve']) {
      const box = await row.getByRole('button', { name }).boundingBox();
      expect(box, name).not.toBeNull();
      expect((box?.x ?? 0) + (box?.width ?? 0), `${name} at ${width} px`).toBeLessThanOrEqual(width);
      expect(box?.x ?? -1, name).toBeGreaterThanOrEqual(0);
    }
    await screenshot(page, `h8-${width}x${height}`);
  });
});
