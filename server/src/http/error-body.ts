import bytes from 'bytes';
import type { ErrorBody } from '@jobbase/contract';
import type { ZodError } from 'zod';
import { JobsError, type FieldProblem, type JobsErrorCode } from '../errors.js';
import { MAX_JSON_DEPTH, TOO_DEEP } from './json-depth.js';

/**
 * The one place an error becomes a status and PocketBase's `{status, message, data}` body.
 * Everything that answers an error — route handlers, middleware, the final error handler —
 * builds its body here.
 */
export function errorBody(status: number, message: string, data: Record<string, FieldProblem> = {}): ErrorBody {
  return { status, message, data };
}

export const UNAUTHORIZED_MESSAGE = 'The request requires valid record authorization token.';
export const NOT_FOUND_MESSAGE = "The requested resource wasn't found.";
const INTERNAL_MESSAGE = 'Something went wrong while processing your request.';

export function unauthorizedBody(): ErrorBody {
  return errorBody(401, UNAUTHORIZED_MESSAGE);
}

export function notFoundBody(): ErrorBody {
  return errorBody(404, NOT_FOUND_MESSAGE);
}

export function jobsErrorStatus(code: JobsErrorCode): 400 | 403 | 404 | 409 | 422 | 503 {
  switch (code) {
    case 'validation':
    case 'payload_too_large':
    case 'conflict':
    case 'topic_taken':
      return 400;
    case 'not_found':
      return 404;
    case 'forbidden':
      return 403;
    case 'unique_conflict':
    case 'finished':
    case 'lock_lost':
      return 409;
    // The request is valid; what it asks for is more than one answer may carry.
    case 'page_too_large':
      return 422;
    case 'closed':
    case 'unavailable':
      return 503;
  }
}

/** zod issues from the path, query and body (ts-rest's request validation) as one 400. */
export function validationErrorBody(errors: readonly (ZodError | null)[]): ErrorBody {
  const data: Record<string, FieldProblem> = {};
  const unplaced: string[] = [];
  for (const issue of errors.flatMap((e) => e?.issues ?? [])) {
    // A strict object's unknown fields are one issue on the object: each is named on its own.
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of paths) {
      const field = path.join('.');
      const message = issue.code === 'unrecognized_keys' ? `${field} is not a known field.` : issue.message;
      if (!field) unplaced.push(message);
      else data[field] ??= { code: issue.code, message };
    }
  }
  const parts = [...unplaced.map((m) => `Invalid request: ${m}`), ...Object.entries(data).map(([f, p]) => `${f}: ${p.message}`)];
  return errorBody(400, parts.join('; ') || 'Invalid request.', data);
}

/** Any thrown value as PocketBase's body; anything not recognised is a 500 with a fixed message. */
export function describeError(err: unknown): ErrorBody {
  if (err instanceof JobsError) return errorBody(jobsErrorStatus(err.code), err.message, err.fields);
  return asClientError(err) ?? errorBody(500, INTERNAL_MESSAGE);
}

/**
 * body-parser's and Express's own 4xx errors (bad JSON, body too large, bad encoding, a path
 * that does not URI-decode). Their messages can quote the request, so fixed ones go out instead.
 */
function asClientError(err: unknown): ErrorBody | null {
  if (typeof err !== 'object' || err === null) return null;
  const { status, type, limit, setting } = err as { status?: unknown; type?: unknown; limit?: unknown; setting?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  switch (type) {
    case 'entity.parse.failed':
      return errorBody(400, 'The request body is not valid JSON.');
    case 'entity.too.large': {
      // `setting`: where the limit is set, added by the parser that reads up to a configurable one.
      const where = typeof setting === 'string' ? ` (${setting})` : '';
      return errorBody(413, `The request body is larger than the ${bytes.format(Number(limit))} limit${where}.`);
    }
    case TOO_DEEP:
      return errorBody(400, `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return errorBody(415, 'The request body’s encoding or charset is not supported; send UTF-8 JSON.');
    default:
      return errorBody(status, 'The request could not be processed.');
  }
}
