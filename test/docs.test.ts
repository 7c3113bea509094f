import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contract } from '@jobbase/contract';
import { serializeOpenApiDocument } from '@jobbase/openapi';
import { isAppRoute, type AppRouter } from '@ts-rest/core';
import { AppFixture, api, type RunningApp } from './helpers/app.js';
import { prerequisite } from './helpers/prerequisites.js';

const CHROMIUM = process.env.JOBBASE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
const haveBrowser = prerequisite(existsSync(CHROMIUM), `the API reference browser test needs Chromium at ${CHROMIUM} (apt-get install chromium)`);

const ASSETS = ['/api/docs/assets/swagger-ui.css', '/api/docs/assets/swagger-ui-bundle.js', '/api/docs/assets/start.js'];

function summaries(router: AppRouter): string[] {
  return Object.values(router).flatMap((value) => (isAppRoute(value) ? [value.summary!] : summaries(value)));
}

/** Loopback, or no host at all (data: and blob: URLs the page makes itself). */
function isLocal(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:') return true;
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

describe('API docs over HTTP', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;

  beforeAll(async () => {
    await fx.setup();
    running = await fx.start();
  });
  afterAll(() => fx.teardown());

  it('serves the generated document without auth, pointing at itself', async () => {
    const res = await api(running.url, '/api/docs/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.text).toBe(serializeOpenApiDocument({ servers: [{ url: '/' }] }));
    const checkedIn = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as Record<string, unknown>;
    expect(res.body).toEqual({ ...checkedIn, servers: [{ url: '/' }] });
  });

  it('serves the reference page and its assets without auth, all from this server', async () => {
    const page = await fetch(`${running.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    // Every URL in the page is a path on this server: no CDN, no other host.
    expect(html).not.toMatch(/(https?:)?\/\/[a-z]/i);
    for (const asset of ASSETS) {
      expect(html, asset).toContain(asset);
      const res = await fetch(running.url + asset);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('cache-control'), asset).toBe('public, max-age=3600');
      await res.arrayBuffer();
    }
    expect((await fetch(`${running.url}/api/docs/`)).headers.get('content-type')).toMatch(/^text\/html/);
    // Only the files the page uses: not swagger-ui-dist's own index.html (the Petstore demo).
    const other = await api(running.url, '/api/docs/assets/index.html');
    expect(other.status).toBe(404);
  });
});

describe.skipIf(!haveBrowser)('API reference in Chromium', () => {
  const fx = new AppFixture('sqlite');
  let running: RunningApp;
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    await fx.setup();
    running = await fx.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('request', (request) => requests.push(request.url()));
    // A CSP violation or a script error is reported here; the page must run cleanly.
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });

  afterAll(async () => {
    await browser?.close();
    await fx.teardown();
  });

  it('renders every operation of the contract, under the CSP, with no request leaving loopback', async () => {
    await page.goto(`${running.url}/api/docs`);
    await page.getByText('Enqueue a job', { exact: true }).waitFor({ state: 'visible' });
    for (const summary of summaries(contract)) {
      expect(await page.getByText(summary, { exact: true }).isVisible(), summary).toBe(true);
    }
    expect(await page.getByRole('heading', { name: /Jobbase API/ }).isVisible()).toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/api-reference.png`, fullPage: true });
    expect(requests.filter((url) => !isLocal(url))).toEqual([]);
    expect(requests).toContain(`${running.url}/api/docs/openapi.json`);
    expect(problems).toEqual([]);
  });

  it('"Try it out" calls this server', async () => {
    await page.getByText('Health check', { exact: true }).click();
    const operation = page.locator('#operations-system-getHealth');
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const answer = page.waitForResponse((r) => r.url() === `${running.url}/api/health`);
    await operation.getByRole('button', { name: 'Execute' }).click();
    expect((await answer).status()).toBe(200);
    await expect.poll(() => operation.locator('.live-responses-table tbody .response-col_status').first().textContent()).toContain('200');
    expect(requests.filter((url) => !isLocal(url))).toEqual([]);
    expect(problems).toEqual([]);
  });
});
