import { mkdir } from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRuns } from '@jobbase/server';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

/** `2027-03-28T01:00:00.000Z` as the page writes UTC: `2027-03-28 01:00:00 UTC`. */
const utcText = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

/** The Schedules page, in Chromium, for a viewer in Tokyo (so their zone is not UTC). */
describe.skipIf(!haveBrowser)('admin UI: schedules, in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  const row = (name: string) => page.locator(`table.schedules tbody tr[data-name="${name}"]`);

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    await running.app.jobs.schedules.create({ name: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin', topic: 'report', payload: { to: 'team' } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: 'Asia/Tokyo' });
    await signIn(page, running.url);
    await page.getByRole('link', { name: 'Schedules' }).click();
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  it('lists each schedule with its next run in the viewer’s zone and in UTC, and no last run yet', async () => {
    const stored = await running.app.jobs.schedules.get('nightly');
    await expect.poll(() => row('nightly').locator('.next-run .utc').textContent()).toBe(utcText(stored.nextRunAt));
    const local = new Date(stored.nextRunAt.getTime() + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    expect(await row('nightly').locator('.next-run .local').textContent()).toBe(`${local} GMT+9`);
    expect(await row('nightly').locator('.cron').textContent()).toBe('30 2 * * *');
    expect(await row('nightly').locator('.timezone').textContent()).toBe('Europe/Berlin');
    expect(await row('nightly').locator('.last-run').textContent()).toBe('never');
    await page.screenshot({ path: `${ARTIFACTS}/admin-schedules.png`, fullPage: true });
  });

  it('trigger makes a job now: the last job’s status shows, and the job says which schedule made it', async () => {
    await row('nightly').getByRole('button', { name: 'Trigger' }).click();
    await expect.poll(() => row('nightly').locator('.last-job .badge').textContent()).toBe('pending');
    const [job] = (await running.app.jobs.list({ topic: 'report' })).items;
    expect(job).toMatchObject({ scheduleName: 'nightly', scheduleTick: null });

    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.locator('table.jobs tbody tr').first().getByRole('button').click();
    await expect.poll(() => page.locator('aside.detail .schedule-name').textContent()).toBe('nightly');
    await page.getByRole('link', { name: 'Schedules' }).click();
    await expect.poll(() => row('nightly').count()).toBe(1);
  });

  it('pause and resume', async () => {
    await row('nightly').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => row('nightly').locator('.next-run').textContent()).toBe('paused');
    expect((await running.app.jobs.schedules.get('nightly')).paused).toBe(true);
    await row('nightly').getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => row('nightly').locator('.next-run .utc').count()).toBe(1);
    expect((await running.app.jobs.schedules.get('nightly')).paused).toBe(false);
  });

  it('edit: a new cron moves the next run', async () => {
    await row('nightly').getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Cron').fill('0 3 * * *');
    await page.getByLabel('Overlap').selectOption('skip');
    await page.getByRole('button', { name: 'Save' }).click();
    const expected = nextRuns({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }, new Date(), 1)[0]!;
    await expect.poll(() => row('nightly').locator('.next-run .utc').textContent()).toBe(utcText(expected));
    expect(await running.app.jobs.schedules.get('nightly')).toMatchObject({ cron: '0 3 * * *', overlap: 'skip' });
  });

  it('create: the server’s refusal is shown naming the field; a valid one appears', async () => {
    await page.getByRole('button', { name: 'New schedule' }).click();
    await page.getByLabel('Name').fill('leap');
    await page.getByLabel('Cron').fill('0 0 30 2 *');
    await page.getByLabel('Topic').fill('leap');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.locator('.schedule-form .error').textContent()).toContain('cron: cron "0 0 30 2 *" never fires.');
    await page.getByLabel('Cron').fill('*/5 * * * *');
    await page.getByLabel('Misfire').selectOption('backfill');
    await page.getByLabel('Backfill max').fill('3');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => row('leap').count()).toBe(1);
    expect(await running.app.jobs.schedules.get('leap')).toMatchObject({ cron: '*/5 * * * *', misfire: { backfill: { max: 3 } } });
  });

  it('delete asks first; cancel keeps it, confirm deletes it', async () => {
    await row('leap').getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog.confirm').getByRole('button', { name: 'Cancel' }).click();
    expect(await row('leap').count()).toBe(1);
    await row('leap').getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog.confirm').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => row('leap').count()).toBe(0);
    expect((await running.app.jobs.schedules.list()).map((s) => s.name)).toEqual(['nightly']);
  });
});
