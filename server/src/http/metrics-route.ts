import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { SuperuserAuth } from '../auth/superuser-auth.js';
import type { JobMetrics } from '../metrics.js';
import { requireSuperuser } from './require-superuser.js';

/** Compared as digests, so neither the length nor the bytes of the token leak through timing. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * `GET /api/metrics`: with the metrics token (`serve --metrics-token`), sent as a bearer
 * token, a scraper needs no superuser; otherwise a superuser's token, as every `/api/jobs` route.
 */
export function metricsRoute(metrics: JobMetrics, auth: SuperuserAuth, metricsToken: string | undefined): RequestHandler[] {
  const superuser = requireSuperuser(auth);
  return [
    (req, res, next) => {
      const given = req.headers.authorization?.trim().replace(/^bearer\s+/i, '');
      if (metricsToken && given && sameToken(given, metricsToken)) next();
      else superuser(req, res, next);
    },
    (req, res, next) => {
      metrics.exposition(req.get('accept')).then(({ contentType, body }) => {
        res.setHeader('Content-Type', contentType);
        res.end(body);
      }, next);
    },
  ];
}
