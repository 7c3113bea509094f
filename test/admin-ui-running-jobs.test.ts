import { mkdir } from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';
import { deferred } from './helpers/wait.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

/** The admin UI shows a running job's progress and cancels it, and a pending one, after asking. */
describe.skipIf(!haveBrowser)('admin UI: running jobs, in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  const aborted = deferred<unknown>();
  let runningId = '';
  let pendingId = '';

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    const { jobs } = running.app;
    const reported = deferred();
    jobs.register('render_video', async (job) => {
      await job.progress({ frames: 120, of: 480 });
      reported.resolve();
      await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
      aborted.resolve(job.signal.reason);
    });
    jobs.start();
    runningId = (await jobs.enqueue('render_video', { video: 'intro.mp4' })).id;
    await reported.promise;
    pendingId = (await jobs.enqueueAt('cleanup', { older_than_days: 7 }, new Date(Date.now() + 3_600_000))).id;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, running.url);
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  // Clicked again until the detail shows it: a list reloading (a filter, Refresh, a live
  // update) can replace the row under the first click.
  const openJob = async (id: string) => {
    await expect
      .poll(async () => {
        const shown = await page.locator('aside.detail code').first().textContent({ timeout: 500 }).catch(() => null);
        if (shown !== id) await page.locator(`table.jobs tbody tr[data-id="${id}"]`).getByRole('button').click();
        return shown;
      })
      .toBe(id);
  };

  it('shows a running job’s progress, and cancels it after confirmation: its handler is aborted and it ends cancelled', async () => {
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–2 of 2');
    await openJob(runningId);
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.progress').textContent()).toContain('"frames": 120');
    // Declining the confirmation changes nothing.
    await detail.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('dialog.confirm').getByRole('button', { name: 'Cancel', exact: true }).click();
    expect((await running.app.jobs.get(runningId)).cancelRequested).toBe(false);
    await detail.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => page.locator('dialog.confirm').textContent()).toContain('Its handler will be told to stop.');
    await page.locator('dialog.confirm').getByRole('button', { name: 'Cancel job' }).click();
    expect(await aborted.promise).toMatchObject({ name: 'JobCancelledError' });
    await expect.poll(() => detail.locator('.badge').textContent(), { timeout: 10_000 }).toBe('cancelled');
    expect(await detail.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    expect(await detail.getByRole('button', { name: 'Requeue' }).count()).toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}/admin-cancelled.png`, fullPage: true });
  });

  it('cancels a pending job, and counts the cancelled jobs in the stats', async () => {
    await openJob(pendingId);
    const detail = page.locator('aside.detail');
    await detail.getByRole('button', { name: 'Cancel job' }).click();
    await page.locator('dialog.confirm').getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => detail.locator('.badge').textContent()).toBe('cancelled');
    expect((await running.app.jobs.get(pendingId)).status).toBe('cancelled');
    await expect.poll(() => page.locator('[data-stat="cancelled"] .stat-value').textContent()).toBe('2');
    await page.getByLabel('Status').selectOption('cancelled');
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–2 of 2');
  });

  it('shows what a completed job’s handler returned', async () => {
    const { jobs } = running.app;
    jobs.register('thumbnail', () => ({ url: 'https://cdn.example.com/t/42.png', bytes: 5120 }));
    const done = await jobs.waitFor((await jobs.enqueue('thumbnail', { image: 42 })).id, { timeout: 10_000 });
    expect(done.status).toBe('completed');
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator(`table.jobs tbody tr[data-id="${done.id}"]`).waitFor();
    await openJob(done.id);
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.result').textContent()).toContain('"url": "https://cdn.example.com/t/42.png"');
    expect(await detail.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
  });
});
