import express, { type RequestHandler } from 'express';

/** Where the body limit is set, for its 413 to say: the CLI's flag and variable (createApp's `bodyLimit`). */
const BODY_LIMIT_SETTING = 'serve --body-limit / JOBBASE_BODY_LIMIT';

/**
 * The JSON body parser for every route but sign-in, reading up to the configurable limit. Its
 * "too large" error carries the setting's name, so the 413 tells how to raise the limit; the
 * sign-in route's fixed limit is no setting, and its 413 names none.
 */
export function jsonBodyUpTo(limit: number): RequestHandler {
  const parse = express.json({ limit });
  return (req, res, next) => {
    parse(req, res, (err?: unknown) => {
      if ((err as { type?: unknown } | undefined)?.type === 'entity.too.large') Object.assign(err as object, { setting: BODY_LIMIT_SETTING });
      next(err);
    });
  };
}
