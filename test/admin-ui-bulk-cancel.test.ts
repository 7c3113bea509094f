import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium, recordTexts } from './helpers/admin-browser.js';
import { deferred } from './helpers/wait.js';

const haveBrowser = haveChromium();

/**
 * Issue 18 with issue 15 in the admin UI: an open job's progress follows the live stream (no
 * reload, no Refresh), and every pending or processing job of a topic is cancelled with a count
 * from a dry run, a confirmation, progress and the result.
 */
describe.skipIf(!haveBrowser)('admin UI live progress and bulk cancel in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp & { token: string };
  let browser: Browser;
  let page: Page;
  const nextStep = deferred();
  const aborted = deferred<unknown>();
  let runningId = '';

  beforeAll(async () => {
    await fx.setup();
    running = await fx.startSignedIn();
    const { jobs } = running.app;
    const reported = deferred();
    jobs.register('render', async (job) => {
      await job.progress({ frame: 1 });
      reported.resolve();
      await nextStep.promise;
      await job.progress({ frame: 2 });
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      aborted.resolve(job.signal.reason);
    });
    jobs.start();
    runningId = (await jobs.enqueue('render', {})).id;
    await reported.promise;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, running.url);
    await page.locator('.live.on').waitFor();
  });

  afterAll(async () => {
    nextStep.resolve();
    await browser?.close();
    await fx.teardown();
  });

  it('the open job’s progress changes on screen within 2 s of the handler reporting it, without a reload or Refresh', async () => {
    await page.locator(`table.jobs tbody tr[data-id="${runningId}"]`).getByRole('button').click();
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.progress').textContent()).toContain('"frame": 1');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    nextStep.resolve();
    await expect.poll(() => detail.locator('.progress').textContent(), { timeout: 2_000, interval: 50 }).toContain('"frame": 2');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('cancels every pending or processing job of a topic: the count from a dry run, a confirmation, progress, the result', async () => {
    const { jobs } = running.app;
    const later = new Date(Date.now() + 3_600_000);
    await jobs.enqueueMany(Array.from({ length: 1_200 }, (_, i) => ({ topic: 'render', payload: { i }, runAt: later })));
    await jobs.enqueue('other', {});
    await page.getByLabel('Topic').fill('render');
    await page.getByRole('button', { name: 'Filter' }).click();

    // Every text the status line shows, however briefly.

    const bulkTexts = await recordTexts(page, '.bulk-status');
    await page.getByRole('button', { name: 'Cancel pending/processing of render…' }).click();
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    expect(await dialog.locator('p').textContent()).toContain('Cancel all 1,201 pending/processing jobs of render?');
    await dialog.getByRole('button', { name: 'Cancel all' }).click();
    await expect.poll(() => page.locator('.bulk-status').textContent()).toBe('Cancelled 1,201 jobs.');
    const texts = await bulkTexts();
    expect(texts).toEqual([
      'Cancelling 1,201 pending/processing jobs of render… 0 of 1,201',
      'Cancelling 1,201 pending/processing jobs of render… 500 of 1,201',
      'Cancelling 1,201 pending/processing jobs of render… 1,000 of 1,201',
      'Cancelled 1,201 jobs.',
    ]);
    expect(((await aborted.promise) as Error).name).toBe('JobCancelledError');
    await expect.poll(async () => (await jobs.stats()).cancelled, { timeout: 5_000 }).toBe(1_201);
    expect((await jobs.stats()).pending).toBe(1);
    await expect.poll(() => page.locator('[data-stat="cancelled"] .stat-value').textContent()).toBe('1201');
  });
});
