import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Logger as PinoLogger } from 'pino';
import type { TopicSchemas } from '@jobbase/contract';
import { SignInLimits } from './auth/sign-in-limits.js';
import { SuperuserAuth } from './auth/superuser-auth.js';
import { WorkerTokens } from './auth/worker-tokens.js';
import { createJobs, type Jobs, type JobsOptions } from './engine/jobs.js';
import { validCorsOrigins } from './http/cors.js';
import { createExpressApp } from './http/express-app.js';
import { validTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { createHttpServer, validConnectionLimits, type ConnectionLimits } from './http/http-server.js';
import { defaultLogger } from './logger.js';
import { ChangeFeed } from './engine/change-feed.js';
import { JobMetrics } from './metrics.js';
import { DEFAULT_BODY_LIMIT } from './defaults.js';

/**
 * The HTTP server's limits on slow and idle clients (see http/http-server.ts for why each
 * default): `headersTimeout` 10 s and `requestTimeout` 30 s (then 408), `keepAliveTimeout` 5 s,
 * `maxConnections` 1,000 (past it, a new connection is closed unanswered).
 */
export interface AppOptions<T extends TopicSchemas = {}> extends Omit<JobsOptions<T>, 'logger'>, Partial<ConnectionLimits> {
  /** Lifetime of a superuser's token in ms; default 24 h. */
  tokenDuration?: number;
  /** Bytes of request body the server reads; past it, 413 (a batch of jobs is one body). Default 4 MiB. */
  bodyLimit?: number;
  /** A pino logger (request logging needs pino itself); default pino at `JOBBASE_LOG_LEVEL`. */
  logger?: PinoLogger;
  /** Origins (`https://admin.example.com`, or `*`) whose pages may call the API from a browser; none by default. */
  corsOrigins?: string[];
  /**
   * The reverse proxies in front of the server, so sign-in limits count each client's address
   * (from `X-Forwarded-For`) rather than the proxy's: a hop count, or their addresses and
   * subnets (`"loopback"`, `"10.0.0.0/8"`). Off by default: the header is then ignored.
   */
  trustProxy?: TrustProxy;
  /**
   * A token a Prometheus scraper sends (`Authorization: Bearer <token>`) to read `/api/metrics`
   * without a superuser's token; none by default (a superuser's token only).
   */
  metricsToken?: string;
}

export interface ListenOptions {
  /** 0 picks a free port. Default 8090. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ListeningServer {
  port: number;
  host: string;
  /** Stops accepting connections and waits for in-flight requests. */
  close(): Promise<void>;
}

export interface App<T extends TopicSchemas = {}> {
  jobs: Jobs<T>;
  express: Express;
  listen(options?: ListenOptions): Promise<ListeningServer>;
  /** Closes every listening server (in-flight requests finish), then the engine. Idempotent. */
  close(): Promise<void>;
}

/** How long `close()` lets in-flight requests finish before cutting their connections. */
const HTTP_CLOSE_TIMEOUT = 10_000;

/** Opens (and migrates) the database and builds the HTTP app around the engine; does not listen. */
export async function createApp<T extends TopicSchemas = {}>(options: AppOptions<T> = {}): Promise<App<T>> {
  const {
    tokenDuration,
    bodyLimit = DEFAULT_BODY_LIMIT,
    logger = defaultLogger(),
    corsOrigins = [],
    trustProxy = 0,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    maxConnections,
    metricsToken,
    ...jobsOptions
  } = options;
  if (metricsToken !== undefined && (typeof metricsToken !== 'string' || metricsToken.length < 16)) {
    throw new RangeError('Option metricsToken must be a string of at least 16 characters.');
  }
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) {
    throw new RangeError(`Option bodyLimit must be a positive integer (bytes), got ${String(bodyLimit)}.`);
  }
  const connectionLimits = validConnectionLimits({ headersTimeout, requestTimeout, keepAliveTimeout, maxConnections });
  validCorsOrigins(corsOrigins);
  validTrustProxy(trustProxy);
  const jobs = await createJobs({ ...jobsOptions, logger });
  const feed = new ChangeFeed(jobs.store, logger);
  const metrics = new JobMetrics(jobs);
  let expressApp: Express;
  try {
    const auth = await SuperuserAuth.create(jobs.store, { tokenDuration });
    expressApp = createExpressApp({
      jobs,
      auth,
      workerTokens: new WorkerTokens(jobs.store),
      signInLimits: new SignInLimits(),
      logger,
      bodyLimit,
      corsOrigins,
      trustProxy,
      feed,
      metrics,
      metricsToken,
    });
  } catch (err) {
    metrics.close();
    await jobs.close();
    throw err;
  }

  const servers = new Set<ListeningServer>();
  let closing: Promise<void> | null = null;

  return {
    jobs,
    express: expressApp,
    async listen({ port = 8090, host = '127.0.0.1' } = {}) {
      if (closing) throw new Error('The app is closed.');
      const server = createHttpServer(expressApp, connectionLimits, logger).listen(port, host);
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
      const listening: ListeningServer = {
        port: (server.address() as AddressInfo).port,
        host,
        close: () => closeServer(server).finally(() => servers.delete(listening)),
      };
      servers.add(listening);
      return listening;
    },
    close() {
      closing ??= (async () => {
        try {
          // The event streams first (closing the feed ends them): they never end by themselves,
          // and would hold each server's close() to its deadline.
          await feed.close();
          await Promise.all([...servers].map((s) => s.close()));
        } finally {
          metrics.close();
          await jobs.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * Node 20's close() already drops idle keep-alive connections, but a client under load never
 * leaves one idle: it sends its next request as soon as an answer arrives, and close() would
 * wait for the deadline. So every answer from now on says `Connection: close`, which ends its
 * connection once sent; connections still busy after the deadline are cut.
 */
function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => server.closeAllConnections(), HTTP_CLOSE_TIMEOUT).unref();
    server.prependListener('request', (_req, res) => {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    });
    server.close((err) => {
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    });
  });
}
