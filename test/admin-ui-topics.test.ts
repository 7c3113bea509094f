import { mkdir } from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';
import { waitFor } from './helpers/wait.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

/** The Topics page: a person pauses a topic and sees its jobs wait, sets its limits, resumes it. */
describe.skipIf(!haveBrowser)('admin UI: topics, in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  const ran: string[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    const { jobs } = running.app;
    jobs.register('email', (job) => void ran.push(job.id));
    jobs.register('sentinel', (job) => void ran.push(job.id));
    jobs.start();
    const first = await jobs.enqueue('email', { to: 'ada@example.com' });
    await waitFor('the first email is sent', () => ran.includes(first.id));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(5_000);
    await signIn(page, running.url);
    await page.getByRole('link', { name: 'Topics' }).click();
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  const row = (topic: string) => page.locator(`table.topics tbody tr[data-topic="${topic}"]`);
  const cell = (topic: string, count: string) => row(topic).locator(`td[data-count="${count}"]`).textContent();

  it('lists each topic with its counts and state', async () => {
    await expect.poll(() => cell('email', 'completed'), { timeout: 5_000 }).toBe('1');
    expect(await row('email').locator('.state').textContent()).toBe('running');
    expect(await row('email').locator('.cap').textContent()).toBe('none');
    expect(await page.locator('table.topics tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-topic')))).toEqual([
      'email',
      'sentinel',
    ]);
  });

  it('pauses a topic: its jobs enqueued afterwards wait while other topics run; resume starts them', async () => {
    await row('email').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => row('email').locator('.state').textContent()).toBe('paused');
    const { jobs } = running.app;
    expect((await jobs.getTopic('email')).paused).toBe(true);
    const waiting = await Promise.all([1, 2, 3].map((n) => jobs.enqueue('email', { n })));
    const sentinel = await jobs.enqueue('sentinel', {});
    await waitFor('the other topic’s job runs', () => ran.includes(sentinel.id));
    await expect.poll(() => cell('email', 'pending'), { timeout: 5_000 }).toBe('3');
    expect(ran.filter((id) => waiting.some((j) => j.id === id))).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/admin-topics-paused.png`, fullPage: true });

    await row('email').getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => row('email').locator('.state').textContent()).toBe('running');
    await expect.poll(() => cell('email', 'completed'), { timeout: 5_000 }).toBe('4');
    expect(await cell('email', 'pending')).toBe('0');
  });

  it('sets a cap and a rate limit, shows a refusal naming the field, and clears them', { timeout: 20_000 }, async () => {
    await row('email').getByRole('button', { name: 'Limits…' }).click();
    const form = page.getByRole('form', { name: 'Limits of email' });
    await form.getByLabel('Most running at once').fill('2');
    await form.getByLabel('Rate limit: starts').fill('10');
    await form.getByLabel('per (ms)').fill('1000');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row('email').locator('.cap').textContent()).toBe('2');
    expect(await row('email').locator('.rate').textContent()).toBe('10 per 1 s');
    expect(await running.app.jobs.getTopic('email')).toMatchObject({ maxRunning: 2, rateLimit: { max: 10, perMs: 1_000 } });

    await form.getByLabel('Most running at once').fill('-1');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('max_running');
    expect((await running.app.jobs.getTopic('email')).maxRunning).toBe(2);

    for (const label of ['Most running at once', 'Rate limit: starts', 'per (ms)']) await form.getByLabel(label).fill('');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row('email').locator('.cap').textContent()).toBe('none');
    expect(await row('email').locator('.rate').textContent()).toBe('none');
  });

  it('goes back to the jobs', async () => {
    await page.getByRole('link', { name: 'Jobs' }).click();
    await expect.poll(() => page.locator('.pager .range').textContent()).toBe('1–5 of 5');
  });
});
