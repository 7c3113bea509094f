import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, api, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium, recordTexts } from './helpers/admin-browser.js';
import { deferred, waitFor } from './helpers/wait.js';

const haveBrowser = haveChromium();

/**
 * Issue 18 in the admin UI: the screen follows `GET /api/jobs/events` (no reload, no 5 s poll
 * while the stream is up), redraws in batches under a flood of events, and requeues every
 * failed job of a topic with a count, a confirmation, progress and the result.
 */
describe.skipIf(!haveBrowser)('admin UI live updates and bulk requeue in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp & { token: string };
  let browser: Browser;
  let page: Page;
  const release = deferred();
  const stat = async (name: string) => Number(await page.locator(`[data-stat="${name}"] .stat-value`).textContent());
  const row = (id: string) => page.locator(`table.jobs tbody tr[data-id="${id}"]`);

  beforeAll(async () => {
    await fx.setup();
    running = await fx.startSignedIn();
    running.app.jobs.register('live', async () => {
      await release.promise;
    });
    running.app.jobs.start();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, running.url);
    await page.locator('p.empty').waitFor();
    await page.locator('.live.on').waitFor();
  });

  afterAll(async () => {
    release.resolve();
    await browser?.close();
    await fx.teardown();
  });

  it('a job enqueued over the API appears, then shows completed, each within 2 s, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const job = (await api(running.url, '/api/jobs/enqueue', { token: running.token, json: { topic: 'live' } })).body;
    // The deadlines the issue sets; the screen would otherwise only poll every 5 s (and does not while live).
    await expect.poll(() => row(job.id).locator('.badge').textContent(), { timeout: 2_000, interval: 50 }).toBe('processing');
    release.resolve();
    await expect.poll(() => row(job.id).locator('.badge').textContent(), { timeout: 2_000, interval: 50 }).toBe('completed');
    await expect.poll(() => stat('completed'), { timeout: 2_000, interval: 50 }).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('a flood of events is drawn in batches: the page keeps answering and ends up right', async () => {
    let listCalls = 0;
    const countLists = (request: { url(): string }) => {
      if (/\/api\/jobs\?/.test(request.url())) listCalls++;
    };
    page.on('request', countLists);
    // 2,000 jobs in two seconds, 50 every 50 ms: 1,000 events a second, reaching the page in
    // some 40 separate chunks (a redraw per chunk would be 40 redraws).
    const started = Date.now();
    for (let burst = 0; burst < 40; burst++) {
      await running.app.jobs.enqueueMany(Array.from({ length: 50 }, (_, n) => ({ topic: 'flood', payload: { n } })));
      await waitFor('the next 50 ms', () => Date.now() - started >= (burst + 1) * 50, { interval: 5 });
    }
    await expect.poll(() => stat('pending'), { timeout: 10_000 }).toBe(2_000);
    // The page answers a click while the events are drawn.
    await page.getByLabel('Status').selectOption('pending');
    await expect.poll(() => page.locator('.pager .range').textContent(), { timeout: 5_000 }).toBe('1–20 of 2000');
    page.off('request', countLists);
    // Redraws at most every 250 ms, whatever arrives: about 8 in the two seconds, and a few for
    // the filter and what came after; one per chunk would be 40 or more.
    expect(listCalls).toBeGreaterThan(0);
    expect(listCalls).toBeLessThan(25);
    await page.getByLabel('Status').selectOption('');
  });

  it('requeues every failed job of a topic: the count from a dry run, a confirmation, progress, the result', async () => {
    const { jobs } = running.app;
    const store = jobs.store;
    await jobs.enqueueMany(Array.from({ length: 1_204 }, (_, i) => ({ topic: 'charge_card', payload: { order: i }, maxRetries: 0 })));
    for (const j of await store.jobClaim({ topics: ['charge_card'], limit: 2_000, lockDuration: 60_000 })) {
      await store.jobFail({ id: j.id, lockToken: j.lockToken, error: 'declined' });
    }
    await page.getByLabel('Topic').fill('charge_card');
    await page.getByRole('button', { name: 'Filter' }).click();
    // Every text the status line shows, however briefly.
    const bulkTexts = await recordTexts(page, '.bulk-status');
    await page.getByRole('button', { name: 'Requeue failed of charge_card…' }).click();
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    expect(await dialog.locator('p').textContent()).toContain('Requeue all 1,204 failed jobs of charge_card?');
    await dialog.getByRole('button', { name: 'Requeue all' }).click();
    await expect.poll(() => page.locator('.bulk-status').textContent()).toBe('Requeued 1,204 jobs.');
    const texts = await bulkTexts();
    // Three calls of at most 500, progress after each (the last one's is replaced by the result
    // in the same turn, before an observer sees it).
    expect(texts).toEqual([
      'Requeuing 1,204 failed jobs of charge_card… 0 of 1,204',
      'Requeuing 1,204 failed jobs of charge_card… 500 of 1,204',
      'Requeuing 1,204 failed jobs of charge_card… 1,000 of 1,204',
      'Requeued 1,204 jobs.',
    ]);
    expect(await jobs.stats()).toMatchObject({ failed: 0 });
    await expect.poll(() => stat('failed')).toBe(0);
  });
});
