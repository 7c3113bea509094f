import { mkdir } from 'node:fs/promises';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerTokens } from '@jobbase/server';
import { AppFixture, api, type RunningApp } from './helpers/app.js';
import { launchChromium, signIn, haveChromium } from './helpers/admin-browser.js';

const ARTIFACTS = 'test-artifacts';
const haveBrowser = haveChromium();

/** The Worker tokens page: a person makes a token for a remote worker, copies it once, and revokes it. */
describe.skipIf(!haveBrowser)('admin UI: worker tokens, in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  /** The secret the page showed, for the checks over HTTP. */
  let secret = '';
  const row = (name: string) => page.locator('table.tokens tbody tr').filter({ has: page.locator('th.name', { hasText: name }) });
  const claim = (token: string) => api(running.url, '/api/workers/claim', { token, json: { topics: ['resize'] } });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.startSignedIn();
    // One made with the CLI's class before the page opens: the page lists every token, however made.
    await new WorkerTokens(running.app.jobs.store).create({ name: 'from-cli' });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(5_000);
    await signIn(page, running.url);
    await page.getByRole('link', { name: 'Worker tokens' }).click();
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  it('is a page of the navigation, at #/tokens, listing the tokens that exist', async () => {
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe('#/tokens');
    expect(await page.getByRole('link', { name: 'Worker tokens' }).getAttribute('aria-current')).toBe('page');
    await expect.poll(() => row('from-cli').locator('td.topics').textContent()).toBe('all topics');
  });

  it('creates a token and shows its secret once, with a warning; the token works for its topics', async () => {
    const form = page.getByRole('form', { name: 'New worker token' });
    await form.getByLabel('Name').fill('resizer');
    await form.getByLabel('Topics (comma-separated)').fill(' resize, thumbnails ,');
    await form.getByRole('button', { name: 'Create token' }).click();

    const shown = page.getByRole('region', { name: 'Token for resizer' });
    await expect.poll(() => shown.getByRole('alert').textContent()).toContain('will not be shown again');
    secret = await shown.getByLabel('Token', { exact: true }).inputValue();
    expect(secret).toMatch(/^jbw_[\w-]{43}$/);
    expect(await shown.getByLabel('Token', { exact: true }).getAttribute('readonly')).toBe('');
    await expect.poll(() => row('resizer').locator('td.topics').textContent()).toBe('resize, thumbnails');
    expect(await row('resizer').locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await page.screenshot({ path: `${ARTIFACTS}/admin-worker-tokens.png`, fullPage: true });

    const job = await running.app.jobs.enqueue('resize', { width: 640 });
    const claimed = await claim(secret);
    expect(claimed.status, claimed.text).toBe(200);
    expect(claimed.body.items.map((j: { id: string }) => j.id)).toEqual([job.id]);
    expect((await api(running.url, '/api/workers/claim', { token: secret, json: { topics: ['mail'] } })).status).toBe(403);
  });

  it('never shows the secret again: not after Done, not in the table, not after a reload', async () => {
    await page.getByRole('button', { name: 'Done, I have copied it' }).click();
    await expect.poll(() => page.getByRole('region', { name: 'Token for resizer' }).count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await expect.poll(() => row('resizer').count()).toBe(1);
    expect(await page.content()).not.toContain(secret);
  });

  it('shows the server’s refusal naming the field, and makes nothing', async () => {
    const form = page.getByRole('form', { name: 'New worker token' });
    await form.getByLabel('Name').fill('x'.repeat(256));
    await form.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('name');
    expect(await page.getByRole('region', { name: /^Token for/ }).count()).toBe(0);
    expect((await new WorkerTokens(running.app.jobs.store).list()).map((t) => t.name)).toEqual(['from-cli', 'resizer']);
  });

  it('revokes a token after a confirmation; cancelled, nothing changes; confirmed, its next request is a 401', async () => {
    await row('resizer').getByRole('button', { name: 'Revoke resizer' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Revoke worker token resizer?');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await row('resizer').count()).toBe(1);
    expect((await claim(secret)).status).toBe(200);

    await row('resizer').getByRole('button', { name: 'Revoke resizer' }).click();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row('resizer').count()).toBe(0);
    expect(await row('from-cli').count()).toBe(1);
    const refused = await claim(secret);
    expect(refused.status, refused.text).toBe(401);
  });
});
