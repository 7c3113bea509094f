import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { report } from '../helpers/soak.js';
import { waitFor } from '../helpers/wait.js';

/*
 * Bodies sent to routes that take none, without a token: parsed for every path, 2 MiB of `[`
 * held the process for up to a second each. A latency figure, so serial: it wants the machine.
 */

const MiB = 1024 * 1024;

/** The body: 2 MiB of brackets, a million deep. */
const MILLION_DEEP = `${'['.repeat(MiB)}${']'.repeat(MiB)}`;

/**
 * 16 POSTs of MILLION_DEEP to each path at once, from another process, so the server's event
 * loop does only the server's share. Prints `sending`, then every answer's path, status and time.
 */
function startFlood(url: string, paths: string[]) {
  const script = `
    const [url, paths] = [process.argv[1], JSON.parse(process.argv[2])];
    const body = '['.repeat(${MiB}) + ']'.repeat(${MiB});
    const send = async (path) => {
      const started = performance.now();
      const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      return { path, status: res.status, ms: Math.round(performance.now() - started) };
    };
    console.log('sending');
    console.log(JSON.stringify(await Promise.all(paths.flatMap((path) => Array.from({ length: 16 }, () => send(path))))));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url, JSON.stringify(paths)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  let running = true;
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  const finished = once(child, 'close').then(() => (running = false));
  return { output: () => output, running: () => running, finished };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - started) };
}

describe.each(dialects())('bodies nobody should parse on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it('16 concurrent 2 MiB million-deep bodies to each of three routes leave a signed-in request under 1 s', async () => {
    const { url, token } = await fx.startSignedIn();
    const one = await timed(() => api(url, '/foo', { raw: MILLION_DEEP }));
    expectError(one.value, 404);

    const targets: Record<string, number> = { '/foo': 404, '/api/health': 404, '/api/jobs/enqueue': 401 };
    const flood = startFlood(url, Object.keys(targets));
    await waitFor('the flood to start', () => flood.output().includes('sending\n') || !flood.running());
    // The signed-in request, again and again until every flood request has its answer.
    const latencies: number[] = [];
    while (flood.running()) {
      const stats = await timed(() => api(url, '/api/jobs/stats', { token }));
      expect(stats.value.status).toBe(200);
      latencies.push(stats.ms);
    }
    await flood.finished;
    const floodAnswers = JSON.parse(flood.output().split('\n')[1]!) as { path: string; status: number; ms: number }[];
    expect(floodAnswers).toHaveLength(48);
    for (const { path, status } of floodAnswers) expect(status, path).toBe(targets[path]);

    const figures = {
      oneNestedRequestMs: one.ms,
      signedInDuringFloodMaxMs: Math.max(...latencies),
      signedInRequests: latencies.length,
      floodAnswerMaxMs: Math.max(...floodAnswers.map((a) => a.ms)),
    };
    report('stalls: nested bodies flood', dialect, figures);
    expect(figures.signedInDuringFloodMaxMs).toBeLessThan(1_000);
    expect(figures.oneNestedRequestMs).toBeLessThan(500);
  });
});
