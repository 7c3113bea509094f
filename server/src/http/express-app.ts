import { contract } from '@jobbase/contract';
import compression from 'compression';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger as PinoLogger } from 'pino';
import type { SignInLimits } from '../auth/sign-in-limits.js';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import type { ChangeFeed } from '../engine/change-feed.js';
import type { JobMetrics } from '../metrics.js';
import type { WorkerTokens } from '../auth/worker-tokens.js';
import { mountAdminUi } from './admin-ui.js';
import { jobEvents } from './events.js';
import { metricsRoute } from './metrics-route.js';
import { jsonBodyUpTo } from './body-limit.js';
import { requireJsonBody, signInBody } from './body-types.js';
import { cors } from './cors.js';
import { mountApiDocs } from './docs.js';
import { errorHandler, notFound } from './error-handlers.js';
import { requestLog } from './request-log.js';
import { requireSuperuser } from './require-superuser.js';
import { refuseWorkerTokens, requireWorkerOrSuperuser, WORKER_ROUTE_PATHS } from './require-worker.js';
import { mountRoutes, type RoutesEngine } from './routes.js';
import type { TrustProxy } from './trust-proxy.js';

/** A bulk action's body is a few filters. */
const BULK_BODY_LIMIT = 16 * 1024;

/** A worker token's body is a name and up to 100 topics: 100 of 255 characters, each escaped (`\u0001`, 6 bytes), fit. */
const WORKER_TOKEN_BODY_LIMIT = 256 * 1024;

/** A sign-in body is two short strings; no reason to read more before the password check. */
const AUTH_BODY_LIMIT = 16 * 1024;

export interface ExpressAppDeps {
  jobs: RoutesEngine;
  auth: SuperuserAuth;
  /** Remote workers' tokens (issue 19). */
  workerTokens: WorkerTokens;
  signInLimits: SignInLimits;
  logger: PinoLogger;
  /** Bytes of request body read; past it, 413. */
  bodyLimit: number;
  /** Origins whose pages may call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** Proxies whose `X-Forwarded-For` sets `req.ip` (validated by createApp); none by default. */
  trustProxy?: TrustProxy;
  /** Feeds `GET /api/jobs/events`. */
  feed: ChangeFeed;
  /** Answers `GET /api/metrics`. */
  metrics: JobMetrics;
  /** A bearer token that may read `/api/metrics` without being a superuser's; none by default. */
  metricsToken?: string;
}

/** The routes of the contract with everything around them; does not listen. */
export function createExpressApp({
  jobs,
  auth,
  workerTokens,
  signInLimits,
  logger,
  bodyLimit,
  corsOrigins = [],
  trustProxy = 0,
  feed,
  metrics,
  metricsToken,
}: ExpressAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // API answers are per-user and change with every job; no ETag/304 dance and no caching.
  app.set('etag', false);
  // Flat query strings only: `?limit[a]=1` stays a string for zod to refuse, not an object.
  app.set('query parser', 'simple');
  app.set('trust proxy', trustProxy);

  app.use(
    helmet({
      // The server speaks plain HTTP (TLS, and so HSTS, belong to whatever terminates it);
      // upgrading subresources to https would break the admin UI served on a LAN address.
      strictTransportSecurity: false,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  app.use(requestLog(logger));
  // gzip or brotli, as the client accepts: a list page of 500 jobs with payloads is mostly
  // repeated JSON keys and text (docs/operations.md has the measurements). The event stream is
  // left alone: compressed, its events would wait in the compressor's buffer.
  app.use(compression({ filter: (req, res) => req.path !== contract.operations.events.path && compression.filter(req, res) }));
  app.use(cors(corsOrigins));
  app.use('/api', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // Before the body parser, so nobody makes us read a body of up to the limit without a token.
  // Worker routes first: a worker token (or a superuser's) passes here; elsewhere a worker token is a 403.
  app.post(WORKER_ROUTE_PATHS, requireWorkerOrSuperuser(auth, workerTokens));
  app.use(['/api/jobs', '/api/topics', '/api/schedules', '/api/worker-tokens'], refuseWorkerTokens(), requireSuperuser(auth));
  app.use(contract.auth.authRefresh.path, requireSuperuser(auth));
  app.use(['/api/jobs', '/api/topics', '/api/schedules', '/api/workers', '/api/worker-tokens'], requireJsonBody);
  // Bodies are parsed on the routes that take one and nowhere else: parsed for every path, a
  // 2 MiB body nested a million deep held the process for up to a second before its 404, with no
  // token needed. Any other request's body is discarded unread once it is answered.
  app.post(contract.auth.authWithPassword.path, signInBody(AUTH_BODY_LIMIT));
  app.post([contract.jobs.enqueue.path, contract.jobs.enqueueBatch.path], jsonBodyUpTo(bodyLimit));
  app.post(
    [contract.operations.requeueMatching.path, contract.operations.deleteMatching.path, contract.operations.cancelMatching.path],
    jsonBodyUpTo(BULK_BODY_LIMIT),
  );
  app.patch(contract.topics.update.path, jsonBodyUpTo(bodyLimit));
  app.post(contract.schedules.create.path, jsonBodyUpTo(bodyLimit));
  app.post(WORKER_ROUTE_PATHS, jsonBodyUpTo(bodyLimit));
  app.patch(contract.schedules.update.path, jsonBodyUpTo(bodyLimit));
  app.post(contract.workerTokens.create.path, jsonBodyUpTo(WORKER_TOKEN_BODY_LIMIT));

  // Before the contract's routes: `GET /api/jobs/:id` would take `events` for an id.
  app.get(contract.operations.events.path, jobEvents(feed));
  app.get(contract.operations.metrics.path, ...metricsRoute(metrics, auth, metricsToken));
  mountRoutes(app, { jobs, auth, signInLimits, workerTokens });
  mountAdminUi(app);
  mountApiDocs(app);

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
