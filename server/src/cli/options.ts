// The option parsers and options the CLI's commands share.
import bytes from 'bytes';
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BODY_LIMIT, DEFAULT_DATABASE, DEFAULT_MAX_LIST_PAYLOAD_SIZE } from '../defaults.js';
import { redactDatabaseUrl } from '../store/open.js';
import { HOP_COUNT_TEXT, validTrustProxy, type TrustProxy } from '../http/trust-proxy.js';

export const DEFAULT_HTTP = '127.0.0.1:8090';

export interface HttpAddress {
  host: string;
  port: number;
}

/** `host:port`, `[::1]:port` or `:port` (every interface). */
export function parseHttpAddress(value: string): HttpAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new InvalidArgumentError(`Expected host:port (e.g. ${DEFAULT_HTTP}), got "${value}".`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

/** `https://a.example.com,https://b.example.com` → the list; blanks dropped. */
export function parseOrigins(value: string): string[] {
  return value.split(',').map((o) => o.trim()).filter((o) => o.length > 0);
}

/**
 * `4194304`, `512kb`, `8mb` → bytes (units of 1024, as the `bytes` package reads them). The
 * shape is checked first: `bytes.parse` reads whatever number a string starts with (`8 foo` is 8).
 */
export function parseSize(value: string): number {
  const size = /^\d+(\.\d+)?\s*(b|kb|mb|gb)?$/i.test(value.trim()) ? bytes.parse(value.trim()) : null;
  if (size === null || size < 1) {
    throw new InvalidArgumentError(`Expected a size in bytes (e.g. 4194304, 512kb or 8mb), got "${value}".`);
  }
  return size;
}

/** `1` → a hop count; `loopback, 10.0.0.0/8` → proxy addresses and subnets, as Express reads them. */
export function parseTrustProxy(value: string): TrustProxy {
  const trustProxy = HOP_COUNT_TEXT.test(value) ? Number(value) : value;
  try {
    validTrustProxy(trustProxy);
  } catch {
    throw new InvalidArgumentError(`Expected a hop count (e.g. 1) or comma-separated proxy addresses or subnets (e.g. loopback,10.0.0.0/8), got "${value}".`);
  }
  return trustProxy;
}

export function dbOption(): Option {
  return new Option('--db <url>', 'database: sqlite:PATH or postgres://…').env('JOBBASE_DB').default(DEFAULT_DATABASE);
}

/** `off` → false (no LISTEN, poll only); otherwise a postgres:// URL. */
export function parseListenUrl(value: string): string | false {
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === 'off') return false;
  if (!/^postgres(ql)?:\/\//i.test(trimmed)) {
    throw new InvalidArgumentError(`Expected a postgres:// URL or off, got "${redactDatabaseUrl(trimmed)}".`);
  }
  return trimmed;
}

export function listenUrlOption(): Option {
  return new Option(
    '--listen-url <url>',
    'PostgreSQL: a direct connection to LISTEN for new jobs on when --db goes through PgBouncer, or off to poll only',
  )
    .env('JOBBASE_LISTEN_URL')
    .default(undefined, 'the --db URL')
    .argParser(parseListenUrl);
}

export function httpOption(): Option {
  return new Option('--http <host:port>', 'address to listen on')
    .env('JOBBASE_HTTP')
    .default(parseHttpAddress(DEFAULT_HTTP), DEFAULT_HTTP)
    .argParser(parseHttpAddress);
}

export function corsOriginsOption(): Option {
  return new Option('--cors-origins <origins>', 'comma-separated origins whose pages may call the API (CORS)')
    .env('JOBBASE_CORS_ORIGINS')
    .default([], 'none')
    .argParser(parseOrigins);
}

export function bodyLimitOption(): Option {
  return new Option('--body-limit <size>', 'largest request body read, e.g. 8mb; past it, 413 (a batch of 1,000 jobs counts as one body)')
    .env('JOBBASE_BODY_LIMIT')
    .default(DEFAULT_BODY_LIMIT, `${DEFAULT_BODY_LIMIT / 1024 / 1024}mb`)
    .argParser(parseSize);
}

export function listPayloadLimitOption(): Option {
  return new Option('--list-payload-limit <size>', 'payload JSON one list page may carry, e.g. 16mb; past it, 422 (payload=false lists any page)')
    .env('JOBBASE_LIST_PAYLOAD_LIMIT')
    .default(DEFAULT_MAX_LIST_PAYLOAD_SIZE, `${DEFAULT_MAX_LIST_PAYLOAD_SIZE / 1024 / 1024}mb`)
    .argParser(parseSize);
}

export function trustProxyOption(): Option {
  return new Option(
    '--trust-proxy <proxies>',
    'the reverse proxies in front, whose X-Forwarded-For gives the client address sign-in limits count: a hop count or addresses/subnets; off by default',
  )
    .env('JOBBASE_TRUST_PROXY')
    .default(undefined, 'off')
    .argParser(parseTrustProxy);
}
