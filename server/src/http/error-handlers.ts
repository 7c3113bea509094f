import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { RequestValidationError } from '@ts-rest/express';
import type { Logger } from '../logger.js';
import { describeError, notFoundBody, validationErrorBody } from './error-body.js';

/** ts-rest's `requestValidationErrorHandler`: zod issues as PocketBase's 400. */
export function sendValidationError(err: RequestValidationError, _req: unknown, res: Response): void {
  res.status(400).json(validationErrorBody([err.pathParams, err.headers, err.query, err.body]));
}

/** Any route nobody serves, under `/api` or not: a JSON 404, never Express's HTML page. */
export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json(notFoundBody());
};

/** The last middleware: every thrown error leaves here in the error shape. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err); // Express then ends the half-sent response.
      return;
    }
    const { type } = (err ?? {}) as { type?: unknown };
    if (type === 'request.aborted' || type === 'stream.not.readable') {
      // The client went away mid-body (a load generator stopping, a closed tab): nobody is left
      // to answer, and it is not the server's fault, so it is no error-level log line either.
      logger.debug({ reqId: req.id, type }, 'client went away before its request was read');
      if (!res.writableEnded) res.status(400).end();
      return;
    }
    const body = describeError(err);
    // 4xx are the client's doing; a 503 is an outage (or shutdown), a 500 a bug.
    if (body.status === 500) logger.error({ reqId: req.id, err: errorSummary(err) }, 'request failed');
    else if (body.status >= 500) logger.warn({ reqId: req.id, err: errorSummary(err) }, 'request refused');
    res.status(body.status).json(body);
  };
}

/**
 * What of an unexpected error is safe to log. Database drivers put the failed statement with
 * its values into the message ("insert into jobs … values (…payload…) - SQLITE_BUSY: …"), so
 * such a message keeps only its last part, and the rest of the stack only its frames.
 */
export function errorSummary(err: unknown, depth = 0): Record<string, unknown> {
  if (!(err instanceof Error)) return { type: typeof err };
  const { code } = err as { code?: unknown };
  const message = /^\s*(insert|update|delete|select|with)\b/i.test(err.message)
    ? err.message.slice(err.message.lastIndexOf(' - ') + 3)
    : err.message;
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  const summary: Record<string, unknown> = { type: err.name, code, message: message.slice(0, 500), stack: frames.join('\n') };
  if (err.cause !== undefined && depth < 3) summary.cause = errorSummary(err.cause, depth + 1);
  return summary;
}
