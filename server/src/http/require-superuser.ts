import type { RequestHandler } from 'express';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import { unauthorizedBody } from './error-body.js';

/** Longer than any token we issue; anything past it is refused unread. */
const MAX_TOKEN_LENGTH = 4096;

/**
 * Lets a request through only with a valid superuser token, sent PocketBase's way
 * (`Authorization: <token>`) or the usual way (`Authorization: Bearer <token>`).
 */
export function requireSuperuser(auth: SuperuserAuth): RequestHandler {
  return (req, res, next) => {
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
      res.locals.superuserId = superuser.id;
      next();
    }, next);
  };
}

function tokenFrom(header: string | undefined): string | null {
  if (!header) return null;
  const token = header.trim().replace(/^bearer\s+/i, '');
  return token && token.length <= MAX_TOKEN_LENGTH ? token : null;
}
