import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';

const haveBrowser = haveChromium();

/**
 * A list page may carry only so many bytes of payloads (`maxListPayloadSize`); the admin UI's
 * table shows none, so it lists without them (`payload=false`) and a queue of large payloads
 * still shows its jobs. A job's panel reads its payload on its own.
 */
describe.skipIf(!haveBrowser)('admin UI over jobs whose payloads exceed the list budget', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;

  beforeAll(async () => {
    await fx.setup();
    running = await fx.startSignedIn({ maxListPayloadSize: 10_000 });
    for (let i = 0; i < 25; i++) await running.app.jobs.enqueue('import_file', { i, rows: 'r'.repeat(5_000) });
    await expect(running.app.jobs.list({ limit: 20 })).rejects.toMatchObject({ code: 'page_too_large' });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  it('lists a page of 20, pages on, and opens a job with its payload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, running.url);
    await page.locator('table.jobs tbody tr').first().waitFor();
    expect(await page.locator('table.jobs tbody tr').count()).toBe(20);
    expect(await page.locator('.pager .range').textContent()).toBe('1–20 of 25');
    expect(await page.getByRole('alert').count()).toBe(0);
    await page.getByRole('button', { name: 'Next →' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('21–25 of 25');
    await page.locator('table.jobs tbody tr button.link').first().click();
    await expect.poll(() => page.locator('pre.payload').textContent()).toContain('"i": 4');
  });
});
