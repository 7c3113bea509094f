import type { JobEvent, JobsClient } from '@jobbase/client';

/** At most one redraw this often, however many events arrive: 1,000 a second cost ~4 redraws. */
const REDRAW_EVERY_MS = 250;
/** Wait before reconnecting a dropped stream; doubles up to RECONNECT_MAX_MS. */
const RECONNECT_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export interface LiveOptions {
  /** Redraws from the server's current state (stats and the visible page). */
  redraw: () => Promise<void>;
  /** The stream is up (true) or down (false): the screen polls while it is down. */
  onConnection: (live: boolean) => void;
  /** The server refused the stream (an expired token): stop, and say so. */
  onRefused: (err: unknown) => void;
}

/**
 * Keeps the screen in step with `GET /api/jobs/events`: events only mark the screen stale, and
 * a stale screen is redrawn at most every REDRAW_EVERY_MS, never while a redraw is running. So
 * a burst costs a few redraws, not one per event. A dropped stream reconnects with the last
 * event's id; a `gap` (events lost) is one more redraw, which reads everything anew.
 */
export function followLive(client: JobsClient, options: LiveOptions): () => void {
  const controller = new AbortController();
  let stale = false;
  let drawing = false;
  let timer: number | undefined;
  let lastEventId: string | undefined;

  const schedule = () => {
    if (timer !== undefined || drawing) return;
    timer = window.setTimeout(async () => {
      timer = undefined;
      if (!stale) return;
      stale = false;
      drawing = true;
      try {
        await options.redraw();
      } finally {
        drawing = false;
        if (stale) schedule();
      }
    }, REDRAW_EVERY_MS);
  };

  const onEvents = (events: JobEvent[]) => {
    lastEventId = events[events.length - 1]?.id ?? lastEventId;
    stale = true;
    schedule();
  };

  void (async () => {
    let delay = RECONNECT_MS;
    while (!controller.signal.aborted) {
      try {
        await client.followEvents(onEvents, { lastEventId, signal: controller.signal, onOpen: () => options.onConnection(true) });
        delay = RECONNECT_MS;
      } catch (err) {
        if ((err as { status?: number }).status === 401) {
          options.onRefused(err);
          return;
        }
      }
      if (controller.signal.aborted) return;
      options.onConnection(false);
      await new Promise((resolve) => window.setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  })();

  return () => {
    controller.abort();
    window.clearTimeout(timer);
  };
}
