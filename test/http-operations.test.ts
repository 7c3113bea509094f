import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { PermanentError } from '@jobbase/server';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppFixture, api, expectError } from './helpers/app.js';
import { dialects } from './helpers/databases.js';
import { waitFor } from './helpers/wait.js';

type Family = { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; count?: string; sum?: string; buckets?: Record<string, string> }[] };

function family(families: Family[], name: string): Family {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric family ${name} in ${families.map((f) => f.name).join(', ')}`);
  return found;
}

function sample(f: Family, labels: Record<string, string>) {
  return f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

/** A raw GET, so the test sees the encoding on the wire (fetch would undo it). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe.each(dialects())('operations over HTTP on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  /** An app whose own engine runs `flaky`: jobs with `{ fail: true }` fail for good. */
  async function startWithWorker(options = {}) {
    const running = await fx.startSignedIn(options);
    running.app.jobs.register('flaky', async (job) => {
      if ((job.payload as { fail?: boolean }).fail) throw new PermanentError('nope');
    });
    running.app.jobs.start();
    return running;
  }

  async function failedJobs(url: string, token: string, n: number) {
    const res = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: n }, () => ({ topic: 'flaky', payload: { fail: true } })) } });
    expect(res.status, res.text).toBe(200);
    await waitFor(`${n} failed jobs`, async () => (await api(url, '/api/jobs/stats', { token })).body.failed === n);
    return res.body.items.map((j: { id: string }) => j.id) as string[];
  }

  it('GET /api/metrics: the Prometheus text format, with the kept counts, this process’s counters and histograms', async () => {
    const { url, token } = await startWithWorker({ metricsToken: 'scrape-me-0123456789' });
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 'flaky' }, { topic: 'flaky' }, { topic: 'flaky', payload: { fail: true } }] } });
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'nobody_runs', run_at: new Date(Date.now() - 60_000).toISOString() } });
    await waitFor('the flaky jobs to finish', async () => {
      const stats = (await api(url, '/api/jobs/stats', { token })).body;
      return stats.completed === 2 && stats.failed === 1;
    });

    for (const auth of [token, 'Bearer scrape-me-0123456789']) {
      const res = await fetch(`${url}/api/metrics`, { headers: { authorization: auth } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    }
    const res = await fetch(`${url}/api/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789' } });
    const exposition = await res.text();
    // The parser throws on any line that is not the text format: this is the lint.
    const families = parsePrometheusTextFormat(exposition) as Family[];
    const jobs = family(families, 'jobbase_jobs');
    expect(jobs.type).toBe('GAUGE');
    expect(sample(jobs, { topic: 'flaky', status: 'completed' })?.value).toBe('2');
    expect(sample(jobs, { topic: 'flaky', status: 'failed' })?.value).toBe('1');
    expect(sample(jobs, { topic: 'flaky', status: 'pending' })?.value).toBe('0');
    expect(sample(jobs, { topic: 'nobody_runs', status: 'pending' })?.value).toBe('1');
    const age = Number(sample(family(families, 'jobbase_oldest_due_job_age_seconds'), { topic: 'nobody_runs' })?.value);
    expect(age).toBeGreaterThanOrEqual(59);
    expect(sample(family(families, 'jobbase_jobs_started_total'), { topic: 'flaky' })?.value).toBe('3');
    expect(sample(family(families, 'jobbase_jobs_completed_total'), { topic: 'flaky' })?.value).toBe('2');
    expect(sample(family(families, 'jobbase_jobs_failed_total'), { topic: 'flaky' })?.value).toBe('1');
    expect(family(families, 'jobbase_jobs_retried_total').metrics).toEqual([]);
    const durations = family(families, 'jobbase_job_duration_seconds');
    expect(durations.type).toBe('HISTOGRAM');
    expect(family(families, 'jobbase_job_start_delay_seconds').type).toBe('HISTOGRAM');
    // The parser keeps a labelled histogram's buckets but not its labels or count: read those lines.
    expect(exposition).toContain('jobbase_job_duration_seconds_count{topic="flaky",outcome="completed"} 2\n');
    expect(exposition).toContain('jobbase_job_duration_seconds_count{topic="flaky",outcome="failed"} 1\n');
    expect(exposition).toContain('jobbase_job_start_delay_seconds_count{topic="flaky"} 3\n');
    expect(Number(family(families, 'jobbase_claim_duration_seconds').metrics[0]?.count)).toBeGreaterThan(0);

    // The same figures as OpenMetrics when asked for.
    const open = await fetch(`${url}/api/metrics`, { headers: { authorization: token, accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(open.headers.get('content-type')).toMatch(/^application\/openmetrics-text; version=1\.0\.0/);
    const text = await open.text();
    expect(text.endsWith('# EOF\n')).toBe(true);
    const openFamilies = parsePrometheusTextFormat(text.replace(/# EOF\n$/, '')) as Family[];
    expect(sample(family(openFamilies, 'jobbase_jobs'), { topic: 'flaky', status: 'completed' })?.value).toBe('2');
  });

  it('GET /api/metrics refuses no token, a wrong one, and the metrics token when none is set', async () => {
    const { url } = await fx.startSignedIn();
    expectError(await api(url, '/api/metrics'), 401);
    expectError(await api(url, '/api/metrics', { token: 'Bearer not-the-token-at-all' }), 401);
  });

  it('POST /api/jobs/requeue: a dry run counts, a limit takes that many, only failed jobs of the topic', async () => {
    const { url, token } = await startWithWorker();
    await failedJobs(url, token, 5);
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'other_topic' } });

    const dry = await api(url, '/api/jobs/requeue', { token, json: { topic: 'flaky', status: 'failed', dry_run: true } });
    expect(dry.body).toEqual({ dry_run: true, matched: 5, changed: 0 });
    expect((await api(url, '/api/jobs/stats', { token })).body.failed).toBe(5);

    // The worker fails them again as soon as they are pending: count what was requeued.
    const some = await api(url, '/api/jobs/requeue', { token, json: { topic: 'flaky', limit: 2 } });
    expect(some.body).toEqual({ dry_run: false, changed: 2 });
    const jobsOf = async () => (await api(url, '/api/jobs?topic=flaky&limit=10&fields=id,retries,status', { token })).body.items;
    await waitFor('the two requeued jobs to fail again', async () => (await jobsOf()).every((j: { status: string }) => j.status === 'failed'));
  });

  it('bulk actions answer bad filters with a 400 naming the field, and a status the action does not take', async () => {
    const { url, token } = await fx.startSignedIn();
    expectError(await api(url, '/api/jobs/requeue', { token, json: { status: 'completed' } }), 400, ['status']);
    expectError(await api(url, '/api/jobs/delete', { token, json: { status: 'processing' } }), 400, ['status']);
    expectError(await api(url, '/api/jobs/delete', { token, json: { created_before: 'yesterday' } }), 400, ['created_before']);
    expectError(await api(url, '/api/jobs/requeue', { token, json: { limit: 0 } }), 400, ['limit']);
    expectError(await api(url, '/api/jobs/delete', { token, json: { topic: 'a\u0000b' } }), 400, ['topic']);
    expectError(await api(url, '/api/jobs/requeue', { token, json: { colour: 'red' } }), 400);
    expectError(await api(url, '/api/jobs/requeue', { json: {} }), 401);
  });

  it('POST /api/jobs/delete: pending and failed jobs of the filter, in a time range; processing and completed stay', async () => {
    const { url, token } = await fx.startSignedIn();
    const early = await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 'a' }, { topic: 'a' }, { topic: 'b' }] } });
    const cutoff = new Date(Date.parse(early.body.items[2].created) + 1).toISOString();
    await waitFor('the clock to pass the cutoff', () => Date.now() > Date.parse(cutoff) + 2);
    await api(url, '/api/jobs/enqueue', { token, json: { topic: 'a' } });
    const dry = await api(url, '/api/jobs/delete', { token, json: { topic: 'a', created_before: cutoff, dry_run: true } });
    expect(dry.body).toEqual({ dry_run: true, matched: 2, changed: 0 });
    const done = await api(url, '/api/jobs/delete', { token, json: { topic: 'a', created_before: cutoff } });
    expect(done.body).toEqual({ dry_run: false, changed: 2 });
    const left = await api(url, '/api/jobs?fields=topic', { token });
    expect(left.body.items).toEqual([{ topic: 'a' }, { topic: 'b' }]);
  });

  it('?fields= keeps only the fields asked for, reads no payload without it, and names a wrong one', async () => {
    const { url, token } = await fx.startSignedIn({ maxListPayloadSize: 100_000 });
    const big = 'x'.repeat(80_000);
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: [{ topic: 't', payload: { big } }, { topic: 't', payload: { big } }] } });
    // Over the page's payload budget with payloads; without them, answered.
    expectError(await api(url, '/api/jobs', { token }), 422);
    const lean = await api(url, '/api/jobs?fields=id,topic,status', { token });
    expect(lean.status, lean.text).toBe(200);
    expect(lean.body.items.map((j: object) => Object.keys(j).sort())).toEqual([['id', 'status', 'topic'], ['id', 'status', 'topic']]);
    expect(lean.body.total).toBe(2);
    const withPayload = await api(url, '/api/jobs?limit=1&fields=id,payload', { token });
    expect(withPayload.body.items[0].payload).toEqual({ big });
    expectError(await api(url, '/api/jobs?fields=id,nope', { token }), 400, ['fields']);
  });

  it('compresses JSON with gzip or brotli as the client accepts, and not without', async () => {
    const { url, token } = await fx.startSignedIn();
    await api(url, '/api/jobs/enqueue/batch', { token, json: { jobs: Array.from({ length: 50 }, (_, i) => ({ topic: 'zip', payload: { text: 'hello '.repeat(20), i } })) } });
    const plain = await rawGet(`${url}/api/jobs?limit=50`, { authorization: token });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const expected = JSON.parse(plain.body.toString('utf8'));
    const gzip = await rawGet(`${url}/api/jobs?limit=50`, { authorization: token, 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.body.length).toBeLessThan(plain.body.length / 4);
    expect(JSON.parse(gunzipSync(gzip.body).toString('utf8'))).toEqual(expected);
    const br = await rawGet(`${url}/api/jobs?limit=50`, { authorization: token, 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.body).toString('utf8'))).toEqual(expected);
  });
});
