import { rawQuery } from '@jobbase/server/testing';
import { DEFAULT_MAX_LIST_PAYLOAD_SIZE } from '@jobbase/server';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnqueuedJobSchema, ErrorSchema, JobPageSchema, JobSchema, StatsSchema } from '@jobbase/contract';
import { z } from 'zod';
import { AppFixture, EMAIL, PASSWORD, api } from '../helpers/app.js';
import { dialects } from '../helpers/databases.js';
import { fuzzRequest, type FuzzRequest } from '../helpers/fuzz-requests.js';
import { postFrom } from '../helpers/http-from.js';
import { envInt, report, soak } from '../helpers/soak.js';

/** Requests per dialect: FUZZ_RUNS raises it; the soak sends the issue's 10,000 on each. */
const RUNS = envInt('FUZZ_RUNS', soak() ? 10_000 : 5_000);
/** CI replays one seed, so a red run is about the code, not the dice; the soak explores new ones. */
const SEED = envInt('FUZZ_SEED', soak() ? Math.floor(Math.random() * 2 ** 31) : 20_261_128);

/** A page asked for with `?fields=`: each item carries only some of a job's fields. */
const LeanPageSchema = JobPageSchema.extend({ items: z.array(JobSchema.partial().strict()) }).strict();

/** The statuses a job can be deleted in. */
const DELETABLE = ['pending', 'failed'];

interface ModelJob {
  id: string;
  status: string;
  topic: string;
  payload: unknown;
  deleted: boolean;
}

interface Sent {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/**
 * Sends on fetch's keep-alive pool. Generating a request can take seconds (long strings), past
 * the server's 5 s keep-alive timeout, and a pooled connection the server closed meanwhile is
 * reset when reused: that request never reached the server, so it is sent again, once.
 */
async function send(url: string, req: FuzzRequest, path: string): Promise<Sent> {
  const attempt = () => fetch(url + path, { method: req.method, headers: req.headers, body: req.body, redirect: 'manual' });
  const res = await attempt().catch((err: unknown) => {
    if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw err;
    return attempt();
  });
  const text = await res.text();
  let body: unknown;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, body };
}

function summary(req: FuzzRequest, path: string, res: Sent): string {
  const body = req.body === undefined ? '' : ` body ${JSON.stringify(req.body.slice(0, 200))}${req.body.length > 200 ? `…(${req.body.length})` : ''}`;
  return `${req.method} ${path.slice(0, 200)} [${req.mutations.join(', ') || 'valid'}]${body} → ${res.status} ${res.text.slice(0, 300)}`;
}

describe.each(dialects())('fuzzing every route on %s', (dialect) => {
  const fx = new AppFixture(dialect);
  beforeEach(() => fx.setup());
  afterEach(() => fx.teardown());

  it(`${RUNS} generated and mutated requests: no 5xx, 4xx in the error shape, stored jobs change only by valid requests`, { timeout: 600_000 }, async () => {
    let logs = '';
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs += String(chunk);
        done();
      },
    });
    const { app, url, token } = await fx.startSignedIn({ logger: pino({ level: 'info' }, sink) });

    // Known jobs in every state, so requeue/delete/get meet each case.
    const model: ModelJob[] = [];
    const seeded = await app.jobs.enqueueMany(Array.from({ length: 40 }, (_, i) => ({ topic: `seed_${i % 4}`, payload: { i } })));
    const states = ['pending', 'failed', 'completed', 'processing'];
    const query = <T,>(sql: string, params?: unknown[]) => rawQuery<T>(app.jobs.store, sql, params);
    for (const [i, job] of seeded.entries()) {
      const status = states[i % 4]!;
      if (status !== 'pending') {
        const locked = status === 'processing';
        await query(
          `update jobs set status = ?, lock_token = ?, locked_until = ? where id = ?`,
          [status, locked ? 'seed-token' : null, locked ? (dialect === 'postgres' ? new Date(Date.now() + 3_600_000) : new Date(Date.now() + 3_600_000).toISOString()) : null, job.id],
        );
      }
      model.push({ id: job.id, status, topic: job.topic, payload: job.payload, deleted: false });
    }
    const byId = new Map(model.map((j) => [j.id, j]));

    const problems: string[] = [];
    const counts = { requests: 0, valid: 0, validSucceeded: 0, byStatus: {} as Record<string, number>, byRoute: {} as Record<string, number> };
    const check = (ok: boolean, what: string, req: FuzzRequest, path: string, res: Sent) => {
      if (!ok && problems.length < 50) problems.push(`${what}: ${summary(req, path, res)}`);
    };

    await fc.assert(
      fc.asyncProperty(fuzzRequest({ token }), async (req) => {
        const target = req.jobIndex === undefined ? undefined : model[req.jobIndex % model.length]!;
        // The target as it was before this request: the model follows a success below.
        const was = target && { status: target.status, deleted: target.deleted };
        const path = target ? req.path.replace('{id}', target.id) : req.path;
        const res = await send(url, req, path);
        counts.requests++;
        counts.byStatus[res.status] = (counts.byStatus[res.status] ?? 0) + 1;
        counts.byRoute[req.route] = (counts.byRoute[req.route] ?? 0) + 1;

        check(res.status < 500, 'a 5xx', req, path, res);
        if (res.status >= 400 && req.method !== 'HEAD') {
          const shaped = ErrorSchema.strict().safeParse(res.body);
          check(shaped.success && res.body.status === res.status && res.body.message.length > 0, 'not the error shape', req, path, res);
        }
        // Whatever the request looked like, a success changed the model the way its method and path say.
        const action = effectOf(req.method, path);
        if (action === 'enqueue' && res.status === 200) {
          check(EnqueuedJobSchema.strict().safeParse(res.body).success, 'enqueue answer', req, path, res);
          const sent = req.json as { topic?: unknown; payload?: unknown } | undefined;
          // `existing`: the job holding the unique key, as it was; the others are what was sent.
          if (sent && typeof sent === 'object' && res.body.enqueued !== 'existing') {
            check(res.body.topic === sent.topic, 'topic as sent', req, path, res);
            const expected = sent.payload === undefined ? {} : JSON.parse(JSON.stringify(sent.payload));
            check(canonical(res.body.payload) === canonical(expected), 'payload as sent', req, path, res);
          }
          const known = byId.get(res.body.id);
          if (res.body.enqueued === 'created') {
            check(known === undefined, 'created a job with a known id', req, path, res);
            const job = { id: res.body.id, status: 'pending', topic: res.body.topic, payload: res.body.payload, deleted: false };
            model.push(job);
            byId.set(job.id, job);
          } else {
            check(known !== undefined && !known.deleted, `${res.body.enqueued} answered a job that is not there`, req, path, res);
            if (known && res.body.enqueued === 'replaced') {
              check(known.status === 'pending', `replaced a ${known.status} job`, req, path, res);
              Object.assign(known, { topic: res.body.topic, payload: res.body.payload });
            }
          }
        } else if (action !== null && action !== 'enqueue' && res.status < 300) {
          const job = byId.get(action.id);
          check(job !== undefined && !job.deleted, `${action.kind} succeeded on a job that is not there`, req, path, res);
          if (job && action.kind === 'requeue') {
            check(job.status === 'failed', `requeue succeeded on a ${job.status} job`, req, path, res);
            job.status = 'pending';
          }
          if (job && action.kind === 'delete') {
            check(DELETABLE.includes(job.status), `delete succeeded on a ${job.status} job`, req, path, res);
            job.deleted = true;
          }
        }

        if (!req.valid) return;
        if (req.unauthenticated) {
          check(res.status === 401, 'a bad token is 401', req, path, res);
          return;
        }
        counts.valid++;
        const succeeded = res.status < 300;
        if (succeeded) counts.validSucceeded++;
        switch (req.route) {
          case 'enqueue':
            // Valid by the schema; the engine may still refuse what it cannot store: a payload over
            // 1 MiB or with NUL on PostgreSQL, a run_at outside the years both databases keep.
            // A unique key may be held (409, on_conflict error or replace), and unique_states or
            // on_conflict without a unique_key are refused.
            check(
              res.status === 200 ||
                (res.status === 400 && ['payload', 'run_at', 'unique_states', 'on_conflict'].some((f) => f in (res.body?.data ?? {}))) ||
                (res.status === 409 && res.body?.data?.unique_key?.code === 'conflict'),
              'a valid enqueue',
              req,
              path,
              res,
            );
            break;
          case 'list': {
            // A valid page may be refused (422) only when the stored payloads could add up past
            // the list budget (8 MiB), which a run's long strings (up to 280 KB each) can reach.
            const stored = model.reduce((sum, j) => sum + (j.deleted ? 0 : Buffer.byteLength(JSON.stringify(j.payload))), 0);
            const overBudget = res.status === 422 && stored > DEFAULT_MAX_LIST_PAYLOAD_SIZE;
            // The fuzzer percent-encodes every byte of a valid query: `fields=` is %66%69%65%6C%64%73=.
            const lean = /[?&](fields|%66%69%65%6C%64%73)=/i.test(path);
            const page = res.status === 200 && (lean ? LeanPageSchema : JobPageSchema.strict()).safeParse(res.body).success;
            check(overBudget || page, 'a valid list', req, path, res);
            break;
          }
          case 'stats': {
            const live = model.filter((j) => !j.deleted);
            const expected = Object.fromEntries(states.map((s) => [s, live.filter((j) => j.status === s).length]));
            check(res.status === 200 && StatsSchema.strict().safeParse(res.body).success, 'stats answer', req, path, res);
            check(states.every((s) => res.body?.[s] === expected[s]) && res.body?.total === live.length, 'stats match the model', req, path, res);
            break;
          }
          case 'get':
            if (!target || was!.deleted) check(res.status === 404, 'get of a missing job', req, path, res);
            else check(res.status === 200 && res.body.status === was!.status && res.body.id === target.id, 'get of a known job', req, path, res);
            break;
          case 'requeue':
            // Only a failed job comes back (200, pending, retries 0); any other is a conflict (400).
            if (!target) break;
            if (was!.deleted) check(res.status === 404, 'requeue of a deleted job', req, path, res);
            else if (was!.status === 'failed') {
              // Or 409 when it would take a unique key another job holds.
              const keyHeld = res.status === 409 && res.body?.data?.unique_key?.code === 'conflict';
              check(keyHeld || (res.status === 200 && res.body.id === target.id && res.body.status === 'pending' && res.body.retries === 0), 'requeue of a failed job', req, path, res);
            } else check(res.status === 400, `requeue of a ${was!.status} job is a conflict`, req, path, res);
            break;
          case 'delete':
            // 204 once, for a pending or failed job; 400 for the others; 404 once it is gone.
            if (!target) break;
            if (was!.deleted) check(res.status === 404, 'delete of a deleted job', req, path, res);
            else check(res.status === (DELETABLE.includes(was!.status) ? 204 : 400), `delete of a ${was!.status} job`, req, path, res);
            break;
          case 'auth':
            check(res.status === 400 || res.status === 429, 'sign-in with made-up credentials', req, path, res);
            break;
          case 'health':
          case 'docs':
            check(res.status === 200, `${req.route} answers`, req, path, res);
            break;
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    expect(problems, `seed ${SEED}`).toEqual([]);

    // Stored jobs are exactly what the successful requests made them.
    const rows: { id: string; status: string; topic: string; payload: unknown }[] = await query<{ id: string; status: string; topic: string; payload: unknown }>('select id, status, topic, payload from jobs');
    const stored = new Map(rows.map((r) => [r.id, { ...r, payload: dialect === 'sqlite' ? JSON.parse(r.payload as string) : r.payload }]));
    const live = model.filter((j) => !j.deleted);
    expect([...stored.keys()].sort()).toEqual(live.map((j) => j.id).sort());
    for (const job of live) {
      const row = stored.get(job.id)!;
      expect({ status: row.status, topic: row.topic, payload: canonical(row.payload) }).toEqual({ status: job.status, topic: job.topic, payload: canonical(job.payload) });
    }

    // The server answers normally afterwards.
    expect((await api(url, '/api/health')).status).toBe(200);
    const job = await api(url, '/api/jobs/enqueue', { token, json: { topic: 'after_fuzz', payload: { ok: true } } });
    expect(job.status).toBe(200);
    expect((await api(url, `/api/jobs/${job.body.id}`, { token })).body).toMatchObject({ topic: 'after_fuzz', payload: { ok: true } });
    expect((await api(url, '/api/jobs/stats', { token })).body.total).toBe(live.length + 1);
    // A different address than the fuzzer's, whose made-up sign-ins the limiter has counted.
    const signIn = await postFrom('127.0.0.2', url, '/api/collections/_superusers/auth-with-password', { identity: EMAIL, password: PASSWORD });
    expect(signIn.status).toBe(200);
    // Nothing went to the logs as a server error, and no secret went there at all.
    expect(logs).not.toContain('"level":50');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(PASSWORD);

    report('fuzz', dialect, {
      requests: counts.requests,
      seed: SEED,
      validRequests: counts.valid,
      validSucceeded: counts.validSucceeded,
      byRoute: counts.byRoute,
      byStatus: counts.byStatus,
      responses5xx: 0,
      jobsCreated: model.length - seeded.length,
    });
  });
});

const JOB_PATH = /^\/api\/jobs\/([0-9a-f-]{36})(\/requeue)?$/i;

/** What a request does to the stored jobs if it succeeds, going by its method and path alone. */
function effectOf(method: string, path: string): 'enqueue' | { kind: 'requeue' | 'delete'; id: string } | null {
  if (method === 'POST' && path === '/api/jobs/enqueue') return 'enqueue';
  const match = JOB_PATH.exec(path);
  if (!match) return null;
  if (method === 'POST' && match[2]) return { kind: 'requeue', id: match[1]!.toLowerCase() };
  if (method === 'DELETE' && !match[2]) return { kind: 'delete', id: match[1]!.toLowerCase() };
  return null;
}

class Raw {
  constructor(readonly text: string) {}
}

/**
 * JSON text with object keys sorted, so PostgreSQL's jsonb key order does not matter. With an
 * explicit stack: the fuzzer stores payloads nested thousands deep, past what recursion takes.
 */
function canonical(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Raw) out.push(item.text);
    else if (Array.isArray(item)) {
      stack.push(new Raw(']'));
      for (let i = item.length - 1; i >= 0; i--) {
        stack.push(item[i]);
        if (i > 0) stack.push(new Raw(','));
      }
      stack.push(new Raw('['));
    } else if (item !== null && typeof item === 'object') {
      const keys = Object.keys(item).sort();
      stack.push(new Raw('}'));
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push((item as Record<string, unknown>)[keys[i]!]);
        stack.push(new Raw(`${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:`));
      }
      stack.push(new Raw('{'));
    } else out.push(JSON.stringify(item) ?? 'null');
  }
  return out.join('');
}
