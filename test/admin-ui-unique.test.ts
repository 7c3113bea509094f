import { mkdir } from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

/** The admin UI shows a job's unique key and states, and filters the list by key. */
describe.skipIf(!haveBrowser)('admin UI: unique keys, in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    const { jobs } = running.app;
    // One key used twice (the first job completed, so the key was free again), another key, and no key.
    const first = await jobs.enqueueWithOptions('send_invoice', { order: 42 }, { uniqueKey: 'invoice:42' });
    const [claimed] = await jobs.store.jobClaim({ topics: ['send_invoice'], limit: 1, lockDuration: 60_000 });
    expect(claimed!.id).toBe(first.id);
    await jobs.store.jobCompleteMany([claimed!]);
    await jobs.enqueueWithOptions('send_invoice', { order: 42, again: true }, { uniqueKey: 'invoice:42', uniqueStates: ['pending'] });
    await jobs.enqueueWithOptions('send_invoice', { order: 43 }, { uniqueKey: 'invoice:43' });
    await jobs.enqueue('send_invoice', { order: 44 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, running.url);
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  it('filters the list by unique key and shows the key and its states in the detail', async () => {
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–4 of 4');
    await page.getByLabel('Unique key').fill('invoice:42');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–2 of 2');
    expect(await page.locator('table.jobs tbody .badge').allTextContents()).toEqual(['pending', 'completed']);

    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.unique-key').textContent()).toBe('invoice:42');
    const states = detail.locator('dt', { hasText: 'Unique states' }).locator('xpath=following-sibling::dd[1]');
    expect(await states.textContent()).toBe('pending');
    await page.screenshot({ path: `${ARTIFACTS}/admin-unique-key.png`, fullPage: true });

    await page.locator('table.jobs tbody tr').nth(1).getByRole('button').click();
    await expect.poll(() => detail.locator('.badge').textContent()).toBe('completed');
    expect(await states.textContent()).toBe('pending, processing');

    await page.getByLabel('Unique key').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–4 of 4');
  });

  it('shows no unique rows for a job without a key', async () => {
    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.payload').textContent()).toContain('44');
    expect(await detail.locator('.unique-key').count()).toBe(0);
    expect(await detail.locator('dt', { hasText: 'Unique' }).count()).toBe(0);
  });
});
