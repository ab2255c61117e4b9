import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * How long a page may take to show what a test waits for. Generous: in CI the browser shares two cores with
 * InfluxDB and three integration files, and Swagger UI's 1.5 MB bundle alone took over 15 s there once
 * (4.6 s on an idle machine). Well under the integration test timeout (60 s), so a page that never renders
 * still fails with the locator it waited for.
 */
export const BROWSER_WAIT = { timeout: 30_000 };

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Debian's chromium, headless, with a fresh temporary profile. Missing chromium fails the run (never
 * skips) with the command that installs it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the console tests need Debian chromium at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\`, or \`npm test\`, which installs it`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}
