import type { Express, Response } from 'express';
import { contract, type ApiIndex, type BulkActionBody, type EnqueueBody, type JobBody } from '@jobbase/contract';
import { API_REFERENCE_PATH, API_VERSION, OPENAPI_DOCUMENT_PATH } from '@jobbase/openapi';
import { initContract } from '@ts-rest/core';
import { createExpressEndpoints, initServer } from '@ts-rest/express';
import type { SignInLimits } from '../auth/sign-in-limits.js';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import type { WorkerTokens } from '../auth/worker-tokens.js';
import type { BulkFilter, BulkOptions } from '../engine/bulk-actions.js';
import type { Jobs } from '../engine/jobs.js';
import type { EnqueueOptions } from '../engine/validate.js';
import { ADMIN_UI_PATH } from './admin-ui.js';
import { errorBody } from './error-body.js';
import { sendValidationError } from './error-handlers.js';
import { signedInSuperuser } from './require-superuser.js';
import { topicRoutes, type TopicRoutesEngine } from './topic-routes.js';
import { scheduleHandlers } from './schedule-routes.js';
import { toBulkResultBody, toEnqueuedJobBody, toJobBody, toJobPageBody, toSuperuserBody } from './wire.js';
import { workerHandlers } from './worker-routes.js';
import { workerTokenHandlers } from './worker-token-routes.js';


/**
 * The contract as the server implements it. ts-rest lets a handler answer any status a route
 * does not declare unless the route is strict; here every route is, so answering an undeclared
 * status (or leaving a route out) fails to type-check. The shared contract stays lenient because
 * clients really do see statuses no handler returns: 500 and 503 from the error handler, 413
 * from the body parser, 415 from the content-type check (body-types.ts). Kept out of exports:
 * its inferred type is not for declaration files.
 */
// The event stream and the metrics answer as Express handlers (a stream that stays open, a text
// body from prom-client; see events.ts and metrics-route.ts): the contract declares them for the
// document and the client, and the router here implements the rest.
const { events: _streamedByEvents, metrics: _answeredByMetricsRoute, ...operationRoutes } = contract.operations;
const serverContract = initContract().router({ ...contract, operations: operationRoutes }, { strictStatusCodes: true });

/**
 * The engine as the routes use it. Topics arrive as strings and payloads as JSON, so the
 * engine's compile-time topic types (`Jobs<T>`) do not apply here; its run-time validation of
 * declared topics does. Every `Jobs<T>` is one.
 */
export type RoutesEngine = Pick<
  Jobs,
  'enqueueWithOptions' | 'enqueueMany' | 'list' | 'get' | 'stats' | 'requeue' | 'delete' | 'schedules' | 'cancel' | 'waitFor' | 'requeueMatching' | 'deleteMatching' | 'cancelMatching' | 'remote'
> &
  TopicRoutesEngine;

/** `GET /api/`: each path comes from where its route is defined, so none can go stale. */
const API_INDEX: ApiIndex = {
  name: 'Jobbase',
  version: API_VERSION,
  links: {
    health: contract.system.health.path,
    docs: API_REFERENCE_PATH,
    openapi: OPENAPI_DOCUMENT_PATH,
    signIn: contract.auth.authWithPassword.path,
    jobs: contract.jobs.list.path,
    admin: ADMIN_UI_PATH,
  },
};

/** A sign-in refused because too many password checks were running: they take ~50–100 ms each. */
const BUSY_RETRY_MS = 1_000;

/** 429 with `Retry-After` in whole seconds, at least one. */
function tooManySignIns(res: Response, retryAfterMs: number, message: string) {
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return { status: 429 as const, body: errorBody(429, message) };
}

/** An enqueue body's options under the library's names. */
function enqueueOptions(body: EnqueueBody): EnqueueOptions {
  return {
    runAt: body.run_at,
    maxRetries: body.max_retries,
    priority: body.priority,
    uniqueKey: body.unique_key,
    uniqueStates: body.unique_states,
    onConflict: body.on_conflict,
  };
}

function bulkFilter(body: BulkActionBody): BulkFilter {
  return { topic: body.topic, status: body.status, createdBefore: body.created_before, createdAfter: body.created_after };
}

function bulkOptions(body: BulkActionBody): BulkOptions {
  return { dryRun: body.dry_run, limit: body.limit };
}

function pickFields(job: JobBody, fields: readonly string[]): Partial<JobBody> {
  return Object.fromEntries(fields.filter((f) => f in job).map((f) => [f, job[f as keyof JobBody]]));
}

export interface RouteDeps {
  jobs: RoutesEngine;
  auth: SuperuserAuth;
  signInLimits: SignInLimits;
  /** Remote workers' tokens, which superusers manage at `/api/worker-tokens`. */
  workerTokens: WorkerTokens;
}

/**
 * Every route of the contract. Job handlers call one engine method each and let engine errors
 * through to the error handler, which maps their codes to statuses in one place (error-body.ts).
 */
export function mountRoutes(app: Express, { jobs, auth, signInLimits, workerTokens }: RouteDeps): void {
  const s = initServer();
  const router = s.router(serverContract, {
    jobs: {
      enqueue: async ({ body }) => {
        const job = await jobs.enqueueWithOptions(body.topic, body.payload, enqueueOptions(body), 'turn');
        return { status: 200, body: toEnqueuedJobBody(job) };
      },
      enqueueBatch: async ({ body }) => {
        const made = await jobs.enqueueMany(body.jobs.map((j) => ({ topic: j.topic, payload: j.payload, ...enqueueOptions(j) })));
        return { status: 200, body: { items: made.map(toEnqueuedJobBody) } };
      },
      list: async ({ query: { unique_key, fields, ...query } }) => {
        const only = fields === undefined ? undefined : fields.split(',').map((f) => f.trim());
        // A page without payloads among its fields reads none, and has no size budget.
        const payload = only && !only.includes('payload') ? false : query.payload;
        const page = toJobPageBody(await jobs.list({ ...query, payload, uniqueKey: unique_key }));
        // The items then carry only the fields asked for: the page's type says what a full item has.
        return { status: 200, body: only ? { ...page, items: page.items.map((job) => pickFields(job, only) as JobBody) } : page };
      },
      stats: async () => ({ status: 200, body: await jobs.stats() }),
      get: async ({ params }) => ({ status: 200, body: toJobBody(await jobs.get(params.id)) }),
      requeue: async ({ params }) => ({ status: 200, body: toJobBody(await jobs.requeue(params.id)) }),
      delete: async ({ params }) => {
        await jobs.delete(params.id);
        return { status: 204, body: undefined };
      },
    },
    runningJobs: {
      cancel: async ({ params }) => ({ status: 200, body: toJobBody(await jobs.cancel(params.id)) }),
      wait: async ({ params, query, res }) => {
        // A client that hangs up ends its wait: nothing is left listening for it.
        const gone = new AbortController();
        const hungUp = () => gone.abort();
        res.on('close', hungUp);
        try {
          return { status: 200, body: toJobBody(await jobs.waitFor(params.id, { timeout: query.timeout, signal: gone.signal })) };
        } finally {
          res.off('close', hungUp);
        }
      },
    },
    auth: {
      authWithPassword: async ({ body, req, res }) => {
        // req.ip is the socket's address, or the client's as a trusted proxy forwarded it (trustProxy).
        const attempt = signInLimits.admit(req.ip ?? 'unknown', body.identity);
        if ('retryAfterMs' in attempt) return tooManySignIns(res, attempt.retryAfterMs, 'Too many failed login attempts. Try again later.');
        const result = await auth.login(body.identity, body.password);
        if (result.outcome === 'busy') {
          attempt.unchecked();
          return tooManySignIns(res, BUSY_RETRY_MS, 'Too many sign-ins at once; try again shortly.');
        }
        // PocketBase's answer, the same whether the email or the password was wrong.
        if (result.outcome === 'wrong') return { status: 400, body: errorBody(400, 'Failed to authenticate.') };
        attempt.succeeded();
        return { status: 200, body: { token: result.token, record: toSuperuserBody(result.superuser) } };
      },
      // requireSuperuser (express-app.ts) has checked the token and found its superuser.
      authRefresh: async ({ res }) => {
        const superuser = signedInSuperuser(res);
        return { status: 200, body: { token: await auth.refresh(superuser), record: toSuperuserBody(superuser) } };
      },
    },
    operations: {
      requeueMatching: async ({ body }) => ({ status: 200, body: toBulkResultBody(await jobs.requeueMatching(bulkFilter(body), bulkOptions(body))) }),
      deleteMatching: async ({ body }) => ({ status: 200, body: toBulkResultBody(await jobs.deleteMatching(bulkFilter(body), bulkOptions(body))) }),
      cancelMatching: async ({ body }) => ({ status: 200, body: toBulkResultBody(await jobs.cancelMatching(bulkFilter(body), bulkOptions(body))) }),
    },
    schedules: scheduleHandlers(jobs.schedules),
    system: {
      index: async () => ({ status: 200, body: API_INDEX }),
      // PocketBase's answer; says the process serves HTTP, not that the database is reachable.
      health: async () => ({ status: 200, body: { code: 200, message: 'API is healthy.', data: {} } }),
    },
    topics: topicRoutes(jobs),
    workers: workerHandlers(jobs.remote),
    workerTokens: workerTokenHandlers(workerTokens),
  });
  createExpressEndpoints(serverContract, router, app, {
    logInitialization: false,
    jsonQuery: false,
    responseValidation: false,
    requestValidationErrorHandler: sendValidationError,
  });
}
