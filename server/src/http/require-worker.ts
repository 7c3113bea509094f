import type { RequestHandler, Response } from 'express';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import { isWorkerToken, type WorkerToken, type WorkerTokens } from '../auth/worker-tokens.js';
import type { TopicGuard } from '../engine/remote-work.js';
import { errorBody, unauthorizedBody } from './error-body.js';
import { tokenFrom } from './require-superuser.js';

/** The remote workers' routes (issue 19): a worker token or a superuser's may call them. */
export const WORKER_ROUTE_PATHS = [/^\/api\/workers\/(claim|finish)\/?$/i, /^\/api\/jobs\/[^/]+\/(complete|fail|snooze|heartbeat)\/?$/i];

/** What a worker token trying another route is told. */
export const WORKER_FORBIDDEN_MESSAGE =
  'A worker token may only claim, heartbeat and finish jobs (/api/workers/*, /api/jobs/{id}/complete|fail|snooze|heartbeat); this route needs a superuser.';

/**
 * Lets a request through with a valid worker token (its topics then bound what it may touch:
 * `workerTopicGuard`) or a superuser's token. The worker token is read from the database on
 * every request, so a revoked one is refused at once.
 */
export function requireWorkerOrSuperuser(auth: SuperuserAuth, tokens: WorkerTokens): RequestHandler {
  return (req, res, next) => {
    const token = tokenFrom(req.headers.authorization);
    if (!token) {
      res.status(401).json(unauthorizedBody());
      return;
    }
    const check = isWorkerToken(token)
      ? tokens.authenticate(token).then((worker) => {
          if (worker) {
            res.locals.worker = worker;
            // A long-poll claim asks again before each claim after a wait: revoked meanwhile, it ends.
            res.locals.stillValid = async () => (await tokens.authenticate(token)) !== null;
          }
          return worker !== null;
        })
      : auth.authenticate(token).then((superuser) => {
          if (superuser) res.locals.superuser = superuser;
          return superuser !== null;
        });
    check.then((ok) => {
      if (!ok) {
        res.status(401).json(unauthorizedBody());
        return;
      }
      next();
    }, next);
  };
}

/** A worker token on a route that needs a superuser: 403, not 401, so the caller knows why. */
export function refuseWorkerTokens(): RequestHandler {
  return (req, res, next) => {
    if (res.locals.worker || res.locals.superuser) return next();
    const token = tokenFrom(req.headers.authorization);
    if (token && isWorkerToken(token)) {
      res.status(403).json(errorBody(403, WORKER_FORBIDDEN_MESSAGE));
      return;
    }
    next();
  };
}

/** For a worker token: whether it still stands (not revoked since the request began). */
export function workerStillValid(res: Response): (() => Promise<boolean>) | undefined {
  return res.locals.stillValid as (() => Promise<boolean>) | undefined;
}

/** The topics the request's worker token allows; undefined for a superuser (everything). */
export function workerTopicGuard(res: Response): TopicGuard {
  const worker = res.locals.worker as WorkerToken | undefined;
  if (!worker || worker.topics === null) return undefined;
  return new Set(worker.topics);
}
