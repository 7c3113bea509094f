import { rawQuery } from '@jobbase/server/testing';
import { expect } from 'vitest';
import type { App } from '@jobbase/server';
import type { AppFixture } from './app.js';
import { expectError, type ApiResponse } from './app.js';
import { quantile, runLoad } from './load.js';
import { waitFor } from './wait.js';

export interface OutageFigures {
  requests: number;
  acknowledged: number;
  refused503: number;
  /** Slowest answer of all, ms: an outage must not turn into a hang. */
  slowestMs: number;
  p99Ms: number;
  /** Jobs the in-process worker ran. */
  ran: number;
  /** The distinct messages of the 503s. */
  refusedMessages: string[];
}

export interface OutageScenario {
  app: App;
  /** Acknowledged enqueues so far. */
  acknowledged(): number;
  /** 503 answers so far. */
  refused(): number;
}

/**
 * A server that is also a worker, under a steady enqueue load over HTTP, while `fault` breaks
 * its database. Asserts what the issue promises: every answer is a 200 or a clear 503 in the
 * error shape (never a 500, never a hang), enqueues succeed again afterwards without a restart
 * of the app, and every acknowledged job is stored and runs.
 */
export async function enqueueThroughOutage(fx: AppFixture, fault: (scenario: OutageScenario) => Promise<void>): Promise<OutageFigures> {
  const { app, url, token } = await fx.startSignedIn({ lockDuration: 3_000, rescueInterval: 250, pollInterval: 100 });
  const ran = new Set<string>();
  app.jobs.register('work', (job) => {
    ran.add(job.id);
  });
  app.jobs.start();

  const acknowledged: string[] = [];
  const unexpected: ApiResponse[] = [];
  const refused: ApiResponse[] = [];
  let faultOver = 0;
  let acknowledgedAfterFault = 0;
  const load = runLoad({
    concurrency: 4,
    durationMs: 90_000,
    request: (n) => ({ url, path: '/api/jobs/enqueue', token, json: { topic: 'work', payload: { n } } }),
    expect: () => 200,
    stopWhen: () => faultOver > 0 && acknowledgedAfterFault >= 200,
    onResponse: (_n, res) => {
      if (res.status === 200) {
        acknowledged.push(res.body.id);
        if (faultOver) acknowledgedAfterFault++;
      } else if (res.status === 503) refused.push(res);
      else unexpected.push(res);
    },
  });
  const scenario = { app, acknowledged: () => acknowledged.length, refused: () => refused.length };
  await waitFor('enqueues under way', () => acknowledged.length >= 100);
  try {
    await fault(scenario);
  } finally {
    faultOver = Date.now();
  }
  const result = await load;

  expect(unexpected.map((r) => `${r.status} ${r.text}`)).toEqual([]);
  expect(result.errors.network ?? 0).toBe(0);
  expect(acknowledgedAfterFault, 'enqueues succeed after the outage').toBeGreaterThanOrEqual(200);
  for (const res of refused) {
    expectError(res, 503);
    expect(res.body.message).not.toMatch(/something went wrong/i);
  }
  const slowest = Math.max(...result.latencies);
  expect(slowest, 'no request hangs through the outage').toBeLessThan(10_000);

  // Nothing acknowledged is lost, and the worker, never restarted, runs it all.
  await waitFor('every acknowledged job to run', () => acknowledged.every((id) => ran.has(id)), { timeout: 60_000 });
  const completed = new Set<string>();
  await waitFor('every acknowledged job completed', async () => {
    const rows: { id: string }[] = await rawQuery(app.jobs.store, `select id from jobs where status = 'completed'`);
    for (const r of rows) completed.add(r.id);
    return acknowledged.every((id) => completed.has(id));
  }, { timeout: 60_000 });
  return {
    requests: result.requests,
    acknowledged: acknowledged.length,
    refused503: refused.length,
    slowestMs: Math.round(slowest),
    p99Ms: Math.round(quantile(result.latencies, 0.99)),
    ran: ran.size,
    refusedMessages: [...new Set(refused.map((r) => r.body.message as string))],
  };
}
