import type { RequestHandler } from 'express';

const ALLOWED_METHODS = 'GET, POST, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type';
/** How long a browser may cache a preflight answer, s. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * Checks `corsOrigins`: each an origin as browsers send it (`https://admin.example.com`, no
 * path or trailing slash), or `*` for any. Anything else is a configuration mistake.
 */
export function validCorsOrigins(origins: unknown): string[] {
  if (!Array.isArray(origins)) throw new RangeError('Option corsOrigins must be an array of origins.');
  for (const origin of origins) {
    if (origin === '*') continue;
    let parsed: URL | null = null;
    try {
      parsed = typeof origin === 'string' ? new URL(origin) : null;
    } catch {
      parsed = null;
    }
    if (!parsed || parsed.origin === 'null' || parsed.origin !== origin) {
      throw new RangeError(`Option corsOrigins: "${String(origin)}" is not an origin such as https://admin.example.com.`);
    }
  }
  return origins as string[];
}

/**
 * Cross-origin access for the configured origins only. With none (the default) no CORS header
 * is ever sent, so browsers keep other sites' pages from reading any answer. Tokens travel in
 * `Authorization`, never in cookies, so credentials mode is not needed. A preflight from an
 * allowed origin is answered here, before the token check (browsers send it without one).
 */
export function cors(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (allowed.size === 0 || origin === undefined || !(any || allowed.has(origin))) {
      next();
      return;
    }
    res.setHeader('Access-Control-Allow-Origin', any ? '*' : origin);
    res.vary('Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE));
      res.status(204).end();
      return;
    }
    next();
  };
}
