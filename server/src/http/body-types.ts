import express, { type Request, type RequestHandler } from 'express';
import { errorBody } from './error-body.js';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';
const MULTIPART_TYPE = 'multipart/form-data';

/**
 * Whether a body came with the request: chunked, or a Content-Length above 0. A POST without
 * data (a requeue, fetch's empty body) sends `Content-Length: 0` and no type; it is bodiless.
 */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/** A 415 for any body whose Content-Type is not one of `types`. */
function refuseOtherTypes(types: string[], message: string): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req) || req.is(types)) {
      next();
      return;
    }
    res.status(415).json(errorBody(415, message));
  };
}

/**
 * The jobs routes read JSON only. A body under another type (curl's `-d` sends
 * application/x-www-form-urlencoded) was left unread, and the route then answered as if the
 * body were empty ("topic: Topic is required.") although a topic was sent.
 */
export const requireJsonBody = refuseOtherTypes([JSON_TYPE], 'Send the body as JSON with Content-Type: application/json.');

/**
 * multipart/form-data (`curl -F`, a browser form, a FormData body) parsed by the web platform's
 * own parser in Node (`Response.formData()`). The body is already in memory, cut at the sign-in
 * limit by `express.raw`, so nothing streams to disk and no size needs checking twice. Only text
 * fields count: a file is no identity.
 */
const multipartFields: RequestHandler = (req, res, next) => {
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw)) {
    next();
    return;
  }
  if (raw.length === 0) {
    req.body = {};
    next();
    return;
  }
  new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData().then(
    (form) => {
      req.body = Object.fromEntries([...form].filter(([, value]) => typeof value === 'string'));
      next();
    },
    () => {
      res.status(400).json(errorBody(400, 'The request body is not valid multipart/form-data.'));
    },
  );
};

/**
 * The sign-in body as PocketBase reads it: JSON, form-urlencoded or multipart/form-data, each
 * at most `limit` bytes (past it, body-parser's 413); any other type is a 415.
 */
export function signInBody(limit: number): RequestHandler[] {
  return [
    refuseOtherTypes([JSON_TYPE, FORM_TYPE, MULTIPART_TYPE], 'Send the body as JSON, form-urlencoded or multipart/form-data.'),
    express.json({ limit }),
    // Flat fields: `identity[a]=b` stays a string for the contract to refuse, as the query does.
    express.urlencoded({ extended: false, limit }),
    express.raw({ type: MULTIPART_TYPE, limit }),
    multipartFields,
  ];
}
