import { createServer, type RequestListener, type Server } from 'node:http';
import type { Logger } from '../logger.js';
import { answerClientError } from './client-error.js';

/**
 * How long a client may take and how many may be connected at once. Node's own defaults (60 s
 * for headers, 300 s for a request, no cap, timeouts checked every 30 s) let a client sending
 * its headers a byte at a time hold a connection for 79 s before its 408, and a slow body 306 s.
 */
export interface ConnectionLimits {
  /** ms to receive a request's headers, from its first byte; then 408. */
  headersTimeout: number;
  /** ms to receive a whole request, headers and body; then 408. Not the time to answer it. */
  requestTimeout: number;
  /** ms an idle keep-alive connection stays open after an answer. */
  keepAliveTimeout: number;
  /** Connections open at once; past it, a new connection is closed unanswered. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = {
  // Headers are at most 16 KiB (Node's limit): 2.3 s at 56 kbit/s; a real client sends them in one packet.
  headersTimeout: 10_000,
  // The largest body, 4 MiB by default, arrives in 30 s at 1.1 Mbit/s or more: a congested
  // mobile uplink may be slower, a service on a LAN sends it in well under a second. Who raises
  // the body limit or enqueues over a slow link raises this too.
  requestTimeout: 30_000,
  // Node's default. Behind a load balancer that reuses connections, set it above the balancer's
  // idle timeout, or the balancer may send a request on a connection the server is closing.
  keepAliveTimeout: 5_000,
  // A job queue's clients are a few services with keep-alive pools and the admin UI's browsers
  // (6 connections each); 1,000 leaves them ample room and keeps file descriptors and the
  // buffers of connections in flight bounded.
  maxConnections: 1_000,
};

const LIMIT_NAMES: readonly (keyof ConnectionLimits)[] = ['headersTimeout', 'requestTimeout', 'keepAliveTimeout', 'maxConnections'];

/** The limits with defaults filled in; a value that is no positive integer, or headers allowed longer than the request, throws. */
export function validConnectionLimits(given: Partial<ConnectionLimits>): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS };
  for (const name of LIMIT_NAMES) {
    const value = given[name] ?? DEFAULT_CONNECTION_LIMITS[name];
    if (!Number.isInteger(value) || value < 1) {
      const unit = name === 'maxConnections' ? 'connections' : 'ms';
      throw new RangeError(`Option ${name} must be a positive integer (${unit}), got ${String(value)}.`);
    }
    limits[name] = value;
  }
  if (limits.headersTimeout > limits.requestTimeout) {
    throw new RangeError(`Option headersTimeout (${limits.headersTimeout} ms) must not exceed requestTimeout (${limits.requestTimeout} ms).`);
  }
  return limits;
}

/**
 * How often Node looks for connections past their headers or request timeout: it does not time
 * each one but sweeps them all every interval (30 s by default, so a 10 s timeout fired after up
 * to 40 s). A tenth of the headers timeout, at most 1 s, keeps each within 10 % of its setting;
 * a sweep only visits connections that have a request in progress.
 */
function checkingInterval({ headersTimeout }: ConnectionLimits): number {
  return Math.min(1_000, Math.ceil(headersTimeout / 10));
}

/** A quiet spell between two warnings about connections refused at the cap. */
const DROP_WARNING_INTERVAL = 60_000;

/**
 * Warns when the connection cap refuses a connection: at once, then at most once a minute
 * with the number refused since, so a flood of connections is no flood of log lines.
 */
function warnOfDrops(server: Server, logger: Logger): void {
  let dropped = 0;
  let quietUntil = 0;
  server.on('drop', () => {
    dropped++;
    if (Date.now() < quietUntil) return;
    logger.warn(
      { dropped, maxConnections: server.maxConnections },
      'connection cap reached: new connections are closed unanswered (serve --max-connections / JOBBASE_MAX_CONNECTIONS)',
    );
    dropped = 0;
    quietUntil = Date.now() + DROP_WARNING_INTERVAL;
  });
}

/** Node's HTTP server around `app`, with the limits applied; does not listen. */
export function createHttpServer(app: RequestListener, limits: ConnectionLimits, logger: Logger): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: checkingInterval(limits),
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  server.on('clientError', answerClientError);
  warnOfDrops(server, logger);
  return server;
}
