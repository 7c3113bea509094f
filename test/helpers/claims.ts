import type { Jobs } from '@jobbase/server';
import { waitFor } from './wait.js';

/**
 * Watches an engine's claims (call before `start()`), so a test can tell when the worker is
 * really idle: no events say so, and a test that enqueues while a claim is under way lets that
 * claim pick the job up, which proves nothing about a wake. The worker claims again at once
 * after a short claim when a wake came meanwhile, and that next call starts in the same turn
 * of the event loop; so a short last claim with none under way, seen from a later turn, means
 * the worker sleeps its poll interval until something wakes it.
 */
export function watchClaims(jobs: Jobs) {
  const store = jobs.store;
  const claim = store.jobClaim.bind(store);
  let underWay = 0;
  let lastShort = false;
  let claims = 0;
  store.jobClaim = async (params) => {
    underWay++;
    try {
      const claimed = await claim(params);
      lastShort = claimed.length < params.limit;
      return claimed;
    } finally {
      underWay--;
      claims++;
    }
  };
  return {
    /** Claims that came back (or failed) so far. */
    get claims(): number {
      return claims;
    },
    /** Resolves once the worker sleeps after a short claim. */
    asleep(): Promise<boolean> {
      return waitFor('the worker to sleep after a short claim', () => underWay === 0 && lastShort);
    },
  };
}

/**
 * Turns off the store's push (PostgreSQL's LISTEN, SQLite's watch of other connections'
 * commits; call before `start()`): only polls and the engine's own wakes start jobs then. On
 * PostgreSQL this process's enqueue notifies its own listener, which would hide a missing wake.
 */
export function withoutPush(jobs: Jobs): void {
  jobs.store.listenForJobs = undefined;
}
