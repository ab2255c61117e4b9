import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/test-gateway.js';
import { BROWSER_WAIT, launchChromium } from './chromium.js';

// The plants are in China: the console shows times on the officer's wall clock, whatever the server's zone.
export const TIME_ZONE = 'Asia/Shanghai';

/**
 * A browser's autoplay rule, as a desktop Chrome applies it: an AudioContext made before the page has had a user's
 * gesture stays suspended, and resumes only after one. (Headless chromium lets every page play, so without this a
 * silent console could not be told from one that beeps.)
 */
export const AUTOPLAY_RULE = `(() => {
  const Real = window.AudioContext;
  window.AudioContext = class extends Real {
    constructor(...args) {
      super(...args);
      if (!navigator.userActivation.hasBeenActive) void super.suspend();
    }
    resume() {
      return navigator.userActivation.hasBeenActive ? super.resume() : new Promise(() => {});
    }
  };
})();`;

export interface ConsoleOptions {
  /** The console's language (its default is Chinese). */
  lang?: 'en' | 'zh';
  /** The browser's own locale: the console must not follow it where the officer chose a language. */
  locale?: string;
  width?: number;
  height?: number;
  /** Scripts run in every page of the context before the console's own (e.g. a browser's autoplay rule). */
  initScripts?: string[];
}

/** A fresh browser context (its own storage) on the console's page; the context is pushed to `contexts` to be closed. */
export async function openConsole(browser: Browser, url: string, contexts: BrowserContext[], options: ConsoleOptions = {}): Promise<Page> {
  const context = await browser.newContext({
    timezoneId: TIME_ZONE,
    locale: options.locale ?? 'en-GB',
    viewport: { width: options.width ?? 1400, height: options.height ?? 900 },
    acceptDownloads: true,
  });
  contexts.push(context);
  await context.addInitScript(`localStorage.setItem('console.lang', '${options.lang ?? 'en'}')`);
  for (const script of options.initScripts ?? []) await context.addInitScript(script);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** The feed is connected (the list has been fetched). */
export const connected = (page: Page): Promise<void> => page.locator('#connection[data-state="connected"]').waitFor(BROWSER_WAIT);

/** Signs in with a shared API token and the name it acts as (`''`: the field emptied), in either language. */
export async function signInWithToken(page: Page, token: string, name: string): Promise<void> {
  const form = page.locator('#token-form');
  if (!(await form.isVisible())) await page.locator('.token-login summary').click();
  await form.locator('#login-token').fill(token);
  await form.locator('#login-token-name').fill(name);
  await form.getByRole('button').click();
  await connected(page);
}

/** Signs in with a user name and password, in either language. */
export async function signInWithPassword(page: Page, name: string, password: string): Promise<void> {
  await page.locator('#login-user').fill(name);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-form').getByRole('button').click();
  await connected(page);
}

export const rowOf = (page: Page, alarmId: string): Locator => page.locator(`#alarm-rows tr[data-alarm-id="${alarmId}"]`);

export const shownIds = (page: Page): Promise<string[]> =>
  page.locator('#alarm-rows tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-alarm-id') ?? ''));

/** Where the keyboard focus is: the alarm whose element holds it and the focused element's text. */
export const focusOf = (page: Page): Promise<{ alarmId: string | null; text: string | null }> =>
  page.evaluate(`(() => {
    const active = document.activeElement;
    return {
      alarmId: active?.closest('[data-alarm-id]')?.dataset.alarmId ?? null,
      text: active === document.body ? null : (active?.textContent?.trim() ?? null),
    };
  })()`);

/**
 * The hooks the console's browser test files share: one chromium for the file, a fresh gateway for each test, and
 * after each the pages' contexts closed (emptying `contexts`), then the gateway. The file keeps its own `browser` and
 * `gateway`, given to it through `set`; an afterEach the file adds after this call runs before these (vitest's stack).
 */
export function browserAndGatewayPerTest(
  set: { browser(browser: Browser): void; gateway(gateway: TestGateway): void },
  contexts: BrowserContext[],
): void {
  let browser: Browser | undefined;
  let gateway: TestGateway | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    set.browser(browser);
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    gateway = await startTestGateway();
    set.gateway(gateway);
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
    await gateway?.close();
  });
}
