import express, { type RequestHandler } from 'express';
import { MAX_JSON_DEPTH, nestedDeeperThan, TOO_DEEP } from './json-depth.js';

/** Where the body limit is set, for its 413 to say: the CLI's flag and variable (createApp's `bodyLimit`). */
const BODY_LIMIT_SETTING = 'serve --body-limit / JOBBASE_BODY_LIMIT';

/**
 * body-parser's `verify` hook: runs on the body as read, before JSON.parse. The depth scan reads
 * bytes, exact for UTF-8 only, so another charset is refused as body-parser refuses a non-UTF
 * one (415, "send UTF-8 JSON"); JSON between systems is UTF-8 anyway (RFC 8259 §8.1).
 */
function refuseDeepOrNotUtf8(_req: unknown, _res: unknown, body: Buffer, encoding: string): void {
  if (encoding !== 'utf-8') throw Object.assign(new Error('Only UTF-8 JSON is read.'), { status: 415, type: 'charset.unsupported' });
  if (nestedDeeperThan(body, MAX_JSON_DEPTH)) throw Object.assign(new Error('The JSON body is nested too deep.'), { status: 400, type: TOO_DEEP });
}

/**
 * The JSON body parser of the jobs routes that take a body, reading up to the configurable
 * limit. Its "too large" error carries the setting's name, so the 413 tells how to raise the
 * limit; the sign-in route's fixed limit is no setting, and its 413 names none. A body nested
 * deeper than MAX_JSON_DEPTH is refused before it is parsed (error-body.ts words the 400).
 */
export function jsonBodyUpTo(limit: number): RequestHandler {
  const parse = express.json({ limit, verify: refuseDeepOrNotUtf8 });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if ((err as { type?: unknown } | undefined)?.type === 'entity.too.large') Object.assign(err as object, { setting: BODY_LIMIT_SETTING });
      next(err);
    });
  };
}
