import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EMAIL, PASSWORD } from './app.js';
import { prerequisite } from './prerequisites.js';

/** Debian's Chromium (`.ci/run` installs it); never a downloaded browser. */
export const CHROMIUM = process.env.JOBBASE_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests can run: skipped without Chromium, except under CI (see `prerequisite`). */
export function haveChromium(): boolean {
  return prerequisite(existsSync(CHROMIUM), `the admin UI browser tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

/** Headless Chromium as every admin UI test drives it: no sandbox (CI runs as root), nothing in the background. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** Opens the admin UI of the server at `url` and signs in with the fixture's superuser. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/_/`);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Records every text `selector`'s element shows from now on, however briefly (a MutationObserver
 * in the page); the function returned reads them.
 */
export async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
  await page.evaluate((sel) => {
    const seen: string[] = ((window as unknown as { recordedTexts: string[] }).recordedTexts = []);
    new MutationObserver(() => {
      const text = document.querySelector(sel)?.textContent;
      if (text && seen.at(-1) !== text) seen.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, selector);
  return () => page.evaluate(() => (window as unknown as { recordedTexts: string[] }).recordedTexts);
}
