import { mkdir } from 'node:fs/promises';
import { rawQuery } from '@jobbase/server/testing';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, EMAIL, PASSWORD, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

describe.skipIf(!haveBrowser)('admin UI in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  const shot = (name: string) => page.screenshot({ path: `${ARTIFACTS}/admin-${name}.png`, fullPage: true });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    // Jobs in every state, made through the store with no worker running, so nothing moves
    // under the browser's feet: a requeued job stays pending for the test to see.
    const { jobs } = running.app;
    const store = jobs.store;
    const claim = async (topic: string) => store.jobClaim({ topics: [topic], limit: 100, lockDuration: 3_600_000 });
    for (let i = 0; i < 24; i++) await jobs.enqueue('send_email', { to: `user${i}@example.com`, subject: 'Welcome' });
    await store.jobCompleteMany((await claim('send_email')).map((j) => ({ id: j.id, lockToken: j.lockToken })));
    for (let i = 0; i < 3; i++) await jobs.enqueueWithOptions('charge_card', { order: 1000 + i }, { maxRetries: 0 });
    for (const j of await claim('charge_card')) {
      await store.jobFail({ id: j.id, lockToken: j.lockToken, error: 'card declined: insufficient funds' });
    }
    await jobs.enqueue('render_video', { video: 'intro.mp4' });
    await claim('render_video');
    await jobs.enqueueAt('cleanup', { older_than_days: 7 }, new Date(Date.now() + 3_600_000));
    expect(await jobs.stats()).toMatchObject({ completed: 24, failed: 3, processing: 1, pending: 1 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  const stat = async (name: string) => Number(await page.locator(`[data-stat="${name}"] .stat-value`).textContent());

  it('refuses a wrong password, then signs in and shows the jobs, the total and the stats', async () => {
    await page.goto(`${running.url}/_/`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong email or password');

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.jobs tbody tr').first().waitFor();
    expect(await page.locator('table.jobs tbody tr').count()).toBe(20);
    expect(await page.locator('.pager .range').textContent()).toBe('1–20 of 29');
    expect(await stat('total')).toBe(29);
    expect(await stat('completed')).toBe(24);
    expect(await stat('failed')).toBe(3);
    expect(await stat('processing')).toBe(1);
    expect(await stat('pending')).toBe(1);
    expect(await page.locator('[data-stat="success_rate"] .stat-value').textContent()).toBe('88.9%');
    await shot('jobs');
  });

  it('filters by status and by topic, and pages forward', async () => {
    await page.getByLabel('Status').selectOption('failed');
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–3 of 3');
    const badges = await page.locator('table.jobs tbody .badge').allTextContents();
    expect(badges).toEqual(['failed', 'failed', 'failed']);

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Topic').fill('send_email');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–20 of 24');
    await page.getByRole('button', { name: 'Next →' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('21–24 of 24');
    expect(new Set(await page.locator('table.jobs td.topic').allTextContents())).toEqual(new Set(['send_email']));
    // The filters and the page survive the live redraw a change of jobs brings (issue 18): a job
    // enqueued and deleted again, so the counts the next tests read stay as they are.
    const redrawn = page.waitForResponse((r) => r.url().includes('/api/jobs/stats'), { timeout: 10_000 });
    const passing = await running.app.jobs.enqueue('passing_by', {});
    await running.app.jobs.delete(passing.id);
    await redrawn;
    expect(await page.getByLabel('Topic').inputValue()).toBe('send_email');
    expect(await page.locator('.pager .range').textContent()).toBe('21–24 of 24');
    await page.getByLabel('Topic').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–20 of 29');
  });

  it('opens a failed job with its payload and last error, and requeues it', async () => {
    await page.getByLabel('Status').selectOption('failed');
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–3 of 3');
    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.payload').textContent()).toMatch(/"order": 100\d/);
    expect(await detail.locator('.last-error').textContent()).toBe('card declined: insufficient funds');
    await shot('failed-job');
    await detail.getByRole('button', { name: 'Requeue' }).click();
    await expect.poll(() => detail.locator('.badge').textContent()).toBe('pending');
    expect(await detail.locator('.last-error').count()).toBe(0);
    expect(await detail.getByRole('button', { name: 'Requeue' }).count()).toBe(0);
    await expect.poll(() => stat('failed')).toBe(2);
    await expect.poll(() => stat('pending')).toBe(2);
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–2 of 2');
  });

  it('does not offer delete on a processing job; deletes a pending job after confirmation', async () => {
    await page.getByLabel('Status').selectOption('processing');
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–1 of 1');
    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    const detail = page.locator('aside.detail');
    await expect.poll(() => detail.locator('.badge').textContent()).toBe('processing');
    expect(await detail.locator('.payload').textContent()).toContain('intro.mp4');
    expect(await detail.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await detail.getByRole('button', { name: 'Requeue' }).count()).toBe(0);

    await page.getByLabel('Status').selectOption('pending');
    await page.getByLabel('Topic').fill('cleanup');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–1 of 1');
    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    await expect.poll(() => detail.locator('.payload').textContent()).toContain('older_than_days');
    await detail.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await running.app.jobs.stats()).toMatchObject({ pending: 2 });
    await detail.getByRole('button', { name: 'Delete' }).click();
    await shot('confirm-delete');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.locator('p.empty').textContent()).toContain('No jobs match');
    expect(await detail.count()).toBe(0);
    expect(await running.app.jobs.stats()).toMatchObject({ pending: 1, total: 28 });
    await expect.poll(() => stat('total')).toBe(28);
    await expect.poll(() => stat('pending')).toBe(1);
    await page.getByLabel('Topic').fill('');
  });

  it('reads well on a phone-width screen', async () => {
    await page.getByLabel('Status').selectOption('');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('table.jobs tbody tr').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  /** Another window, signed in on its own: a 1280×800 laptop whose clock is set to Tokyo. */
  async function tokyoLaptop(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Tokyo', locale: 'en-US' });
    const tokyo = await context.newPage();
    await signIn(tokyo, running.url);
    await tokyo.locator('table.jobs tbody tr').first().waitFor();
    return tokyo;
  }

  it('shows times in the viewer’s zone, named, with the UTC time in the tooltip, in the list and the detail', async () => {
    const tokyo = await tokyoLaptop();
    try {
      const row = tokyo.locator('table.jobs tbody tr').first();
      const job = await running.app.jobs.get((await row.getAttribute('data-id'))!);
      const times = [job.runAt, job.created, job.updated];
      // Tokyo keeps no daylight saving time: always UTC+9.
      const shown = times.map((t) => `${new Date(t.getTime() + 9 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19)} GMT+9`);
      const utc = times.map((t) => t.toISOString());

      const inRow = row.locator('time');
      expect(await inRow.allTextContents()).toEqual(shown);
      expect(await inRow.evaluateAll((els) => els.map((e) => e.getAttribute('title')))).toEqual(utc);

      await row.getByRole('button').click();
      const inDetail = tokyo.locator('aside.detail time');
      await expect.poll(() => inDetail.allTextContents()).toEqual(shown);
      expect(await inDetail.evaluateAll((els) => els.map((e) => e.getAttribute('title')))).toEqual(utc);
    } finally {
      await tokyo.context().close();
    }
  });

  it('keeps every column of the list in view at 1280×800 with a job open', async () => {
    const tokyo = await tokyoLaptop();
    try {
      await tokyo.locator('table.jobs tbody tr').first().getByRole('button').click();
      const detail = tokyo.locator('aside.detail');
      await detail.waitFor();
      await tokyo.screenshot({ path: `${ARTIFACTS}/admin-detail-1280.png` });
      // Nothing scrolls sideways: not the table's own scroller, not the page.
      const wrap = tokyo.locator('.table-wrap');
      expect(await wrap.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(0);
      expect(await tokyo.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
      const list = (await wrap.boundingBox())!;
      const header = tokyo.locator('table.jobs th', { hasText: 'Updated' });
      for (const cell of [header, tokyo.locator('table.jobs td.col-updated').first()]) {
        const box = (await cell.boundingBox())!;
        expect(box.width).toBeGreaterThan(0);
        expect(box.x + box.width).toBeLessThanOrEqual(list.x + list.width);
      }
      const panel = (await detail.boundingBox())!;
      expect(panel.x).toBeGreaterThanOrEqual(list.x + list.width);
      expect(panel.x + panel.width).toBeLessThanOrEqual(1280);
    } finally {
      await tokyo.context().close();
    }
  });

  it('filters by priority, sorts in run order, and shows a job’s priority and snoozes', async () => {
    const { jobs } = running.app;
    const later = new Date(Date.now() + 3_600_000);
    const made = [];
    for (const priority of [5, -3, 0, 5]) made.push(await jobs.enqueueWithOptions('report', { priority }, { priority, runAt: later }));
    // One of them snoozed once, as its handler would have.
    await rawSnooze(made[3]!.id);
    try {
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Topic').fill('report');
      await page.getByLabel('Sort').selectOption('priority');
      await expect.poll(() => page.locator('table.jobs td.col-priority').allTextContents()).toEqual(['-3', '0', '5', '5']);
      // Equal priorities in run_at, then id order: the two 5s as enqueued.
      expect(await page.locator('table.jobs tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual(
        [made[1]!, made[2]!, made[0]!, made[3]!].map((j) => j.id),
      );
      await page.getByLabel('Priority').fill('5');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–2 of 2');
      await page.locator(`table.jobs tbody tr[data-id="${made[3]!.id}"]`).getByRole('button').click();
      const detail = page.locator('aside.detail');
      await expect.poll(() => detail.locator('dt:has-text("Snoozes") + dd').textContent()).toBe('1');
      expect(await detail.locator('dt:has-text("Priority") + dd').textContent()).toBe('5');
      await shot('priority');
      await detail.getByRole('button', { name: 'Close details' }).click();

      // The browser itself refuses a priority out of range or not whole, before any request.
      for (const bad of ['1.5', '40000']) {
        await page.getByLabel('Priority').fill(bad);
        expect(await page.getByLabel('Priority').evaluate((el: HTMLInputElement) => el.checkValidity())).toBe(false);
      }
    } finally {
      for (const job of made) await jobs.delete(job.id);
      await page.getByLabel('Priority').fill('');
      await page.getByLabel('Topic').fill('');
      await page.getByLabel('Sort').selectOption('-created');
      await page.getByRole('button', { name: 'Filter' }).click();
    }

    /** What a handler's `return job.snooze(ms)` leaves: the job made due, claimed and snoozed through the store. */
    async function rawSnooze(id: string): Promise<void> {
      await rawQuery(jobs.store, 'update jobs set run_at = ? where id = ?', [new Date(0).toISOString(), id]);
      const [claimed] = await jobs.store.jobClaim({ topics: ['report'], limit: 1, lockDuration: 60_000 });
      expect(claimed!.id).toBe(id);
      expect(await jobs.store.jobSnooze({ id, lockToken: claimed!.lockToken, runAt: later })).toBe(true);
    }
  });

  it('has an icon: linked from the page, and at /favicon.ico and /_/favicon.ico', async () => {
    const linked = await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel~="icon"]')?.href ?? null);
    expect(linked).not.toBeNull();
    for (const url of [linked!, `${running.url}/favicon.ico`, `${running.url}/_/favicon.ico`]) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toMatch(/^image\/svg\+xml/);
      expect(await res.text(), url).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
  });

  it('sends an expired session back to sign in, and signs out', async () => {
    await page.evaluate(() => sessionStorage.setItem('jobbase.admin.token', 'not-a-token'));
    await page.reload();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('session has expired');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.jobs tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('jobbase.admin.token'))).toBeNull();
  });
});
