import type { RequestHandler, Response } from 'express';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import type { Superuser } from '../auth/superusers.js';
import { unauthorizedBody } from './error-body.js';

/** Longer than any token we issue; anything past it is refused unread. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Lets a request through only with a valid superuser token, sent PocketBase's way
 * (`Authorization: <token>`) or the usual way (`Authorization: Bearer <token>`).
 */
export function requireSuperuser(auth: SuperuserAuth): RequestHandler {
  return (req, res, next) => {
    // A worker route's own check (require-worker.ts) let this request through already.
    if (res.locals.worker || res.locals.superuser) return next();
    const token = tokenFrom(req.headers.authorization);
    if (!token) {
      res.status(401).json(unauthorizedBody());
      return;
    }
    auth.authenticate(token).then((superuser) => {
      if (!superuser) {
        res.status(401).json(unauthorizedBody());
        return;
      }
      res.locals.superuser = superuser;
      next();
    }, next);
  };
}

export function tokenFrom(header: string | undefined): string | null {
  if (!header) return null;
  const token = header.trim().replace(/^bearer\s+/i, '');
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}

/** The superuser `requireSuperuser` let through on this request (auth-refresh answers with it). */
export function signedInSuperuser(res: Response): Superuser {
  const superuser = res.locals.superuser as Superuser | undefined;
  if (!superuser) throw new Error('requireSuperuser does not guard this route.');
  return superuser;
}
