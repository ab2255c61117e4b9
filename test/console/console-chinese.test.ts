import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { connectDevice, publishJson, telemetryTopicOf } from '../helpers/mqtt-device.js';
import { api, eventually, type TestGateway, TOKENS } from '../helpers/test-gateway.js';
import { raised } from '../support/http-gateway.js';
import { BROWSER_WAIT } from './chromium.js';
import { AUTOPLAY_RULE, browserAndGatewayPerTest, connected, openConsole, rowOf, signInWithToken } from './console-page.js';

/** An English word: the Chinese console's own sentences have none (the codes in parentheses aside). */
const ENGLISH_WORD = /[A-Za-z]{2,}/;
const withoutCodes = (text: string): string => text.replace(/[（(][a-z_0-9]+[)）]/g, '');

/**
 * The console in Chinese, in a browser whose own language is American English: refusals, the gateway's failures,
 * the bulk action's reasons, the maintenance form's problems, the trend's caption, the sound bar and the dates are
 * Chinese (the codes beside them stay). A real gateway (and influxd), Debian chromium.
 */
describe('console: all of it in Chinese (real chromium, real gateway)', () => {
  let browser: Browser;
  let gateway: TestGateway;
  const contexts: BrowserContext[] = [];
  let device: MqttClient | null = null;
  browserAndGatewayPerTest({ browser: (opened) => (browser = opened), gateway: (started) => (gateway = started) }, contexts);
  // before the gateway closes (vitest runs a file's afterEach hooks last registered first)
  afterEach(async () => {
    await device?.endAsync();
    device = null;
  });

  const openAlarm = async (name: string): Promise<{ id: string }> => {
    gateway.alarms.apply([raised(name, 'orange', Date.now() - 10 * 60_000)]);
    return eventually(`the alarm of ${name}`, async () => (await api(gateway, `/api/alarms?device=${name}`)).body.alarms[0]);
  };
  const signIn = async (initScripts: string[] = []): Promise<Page> => {
    const page = await openConsole(browser, gateway.httpUrl, contexts, { lang: 'zh', locale: 'en-US', initScripts });
    await signInWithToken(page, TOKENS.operator, '王芳');
    return page;
  };

  it('the list: dates as Chinese writes them, the gateway failing or refusing in Chinese words, the sound bar', async () => {
    const [one, two] = [await openAlarm('p-1'), await openAlarm('p-2')];
    const page = await signIn([AUTOPLAY_RULE]);
    const row = rowOf(page, one.id);
    await row.waitFor(BROWSER_WAIT);
    // 2026/11/22 15:40:01, not the browser's 11/22/2026, 3:40:01 PM
    expect((await row.locator('td.time time').innerText()).trim()).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);

    // a cluster node that cannot act now: the gateway's failure, said in Chinese (not its English message)
    await page.route('**/api/alarms/*/ack', (route: Route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'cluster_unavailable', message: 'the node that judges site-a did not answer in time' } }),
      }),
    );
    await row.getByRole('button', { name: '确认' }).click();
    const notice = page.locator('#notice-text');
    await notice.getByText('cluster_unavailable').waitFor(BROWSER_WAIT);
    expect(await notice.innerText()).toContain('负责该站点的集群节点暂时无法处理');
    expect(withoutCodes(await notice.innerText())).not.toMatch(ENGLISH_WORD);
    // a proxy's bare 503 (no code of the gateway's): the status, in Chinese
    await page.unroute('**/api/alarms/*/ack');
    await page.route('**/api/alarms/*/ack', (route: Route) =>
      route.fulfill({ status: 503, contentType: 'text/html', body: '<h1>503</h1>' }),
    );
    await row.getByRole('button', { name: '确认' }).click();
    await notice.getByText('网关返回了 HTTP 503').waitFor(BROWSER_WAIT);
    await page.unroute('**/api/alarms/*/ack');

    // both checked and acknowledged together; one was acknowledged meanwhile: the reason, in words
    await row.locator('td.check input').check();
    await rowOf(page, two.id).locator('td.check input').check();
    expect((await api(gateway, `/api/alarms/${two.id}/ack`, { body: { by: '李伟' } })).status).toBe(200);
    await expect.poll(() => rowOf(page, two.id).locator('.acked').count(), BROWSER_WAIT).toBe(1);
    await page.locator('#bulk-ack').click();
    await page.getByRole('dialog').getByRole('button', { name: '确认' }).click();
    await notice.getByText('已确认 1 条报警。').waitFor(BROWSER_WAIT);
    expect(await notice.innerText()).toContain('1 条未能处理：报警已被确认 (alarm_already_acknowledged)');
    expect(withoutCodes(await notice.innerText())).not.toMatch(ENGLISH_WORD);

    // reloaded, no click yet: the page is silent, and says so in Chinese
    await page.reload();
    await connected(page);
    await page.locator('#sound-off').getByText('报警声音已关闭').waitFor(BROWSER_WAIT);
  });

  it("the alarm's page and the maintenance form: the trend's caption, a failed trend, the gateway's field problems", async () => {
    device = await connectDevice(gateway.mqttUrl, { username: 'dc-01', password: 'secret-dc-01', clientId: 'dc-01' });
    const t0 = Date.now() - 50 * 60_000;
    const readings = [55, 60, 66, 75, 78];
    for (const [i, value] of readings.entries()) {
      await publishJson(device, telemetryTopicOf('site-a', 'dc-01'), {
        ts: t0 + i * 5 * 60_000,
        seq: i + 1,
        metrics: { hopper_temp: value },
      });
      await gateway.settle();
    }
    const alarm = await eventually('the alarm of dc-01', async () =>
      (await api(gateway, '/api/alarms?device=dc-01')).body.alarms.find((a: { rule: string }) => a.rule === 'hopper_temp_high'),
    );
    await eventually('the readings in influxd', async () => {
      const trend = await api(gateway, `/api/devices/dc-01/trend?metric=hopper_temp&from=${new Date(t0 - 1).toISOString()}`);
      return trend.body.points?.length === readings.length ? true : undefined;
    });
    const page = await signIn();

    // InfluxDB behind a proxy that answers a bare 503: the trend says so in Chinese
    await page.route('**/api/devices/*/trend**', (route: Route) =>
      route.fulfill({ status: 503, contentType: 'text/html', body: '<h1>503</h1>' }),
    );
    await page.goto(`${gateway.httpUrl}/#/alarms/${alarm.id}`);
    await page.locator('#alarm-trend .trend-unavailable', { hasText: '网关返回了 HTTP 503' }).waitFor(BROWSER_WAIT);
    await page.unroute('**/api/devices/*/trend**');
    await page.reload();
    const caption = page.locator('#alarm-trend figcaption');
    await caption.waitFor(BROWSER_WAIT);
    expect(await caption.innerText()).toMatch(/^5 个读数 · 最低 55 °C · 最高 78 °C · \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} 78 °C$/);

    // the maintenance form sent without a reason: the gateway's problem beside the field, in Chinese
    await page.goto(`${gateway.httpUrl}/#/maintenance/site/site-a`);
    await page.locator('#mw-minutes').fill('60');
    await page.locator('#mw-submit').click();
    await expect.poll(() => page.locator('#mw-reason-error').innerText(), BROWSER_WAIT).toBe('请填写原因');
    expect(await page.locator('#mw-refusal').innerText()).toBe('网关拒绝了声明：填写的内容不符合要求（validation_failed）');
  });
});
