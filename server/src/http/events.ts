import type { RequestHandler } from 'express';
import { EventsQuerySchema, type JobEvent } from '@jobbase/contract';
import type { ChangeFeed, FeedEvent } from '../engine/change-feed.js';
import { errorBody } from './error-body.js';

/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * Bytes of events a slow client may have unsent before it is cut off: the socket's buffer
 * otherwise grows without bound while the jobs change faster than it reads. It reconnects with
 * `Last-Event-ID` and resumes from the feed's buffer.
 */
const MAX_UNSENT = 4 * 1024 * 1024;

function frame(event: FeedEvent): string {
  const data: JobEvent = event as JobEvent;
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * `GET /api/jobs/events`: the change feed as server-sent events (requireSuperuser guards it).
 * Each batch of changes is written as one chunk; a `gap` passes every topic filter.
 */
export function jobEvents(feed: ChangeFeed): RequestHandler {
  return (req, res, next) => {
    const query = EventsQuerySchema.safeParse(req.query);
    if (!query.success) {
      const message = 'topic must be at most 255 characters.';
      res.status(400).json(errorBody(400, message, { topic: { code: 'invalid', message } }));
      return;
    }
    const topic = query.data.topic || undefined;
    const lastEventId = req.get('last-event-id') ?? undefined;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    let closed = false;
    let unsubscribe: (() => void) | undefined;
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      unsubscribe?.();
    };
    req.on('close', end);
    const send = (events: FeedEvent[]) => {
      if (closed) return;
      const text = events
        .filter((e) => topic === undefined || e.job === undefined || e.job.topic === topic)
        .map(frame)
        .join('');
      if (text) res.write(text);
      if (res.writableLength > MAX_UNSENT) {
        end();
        res.destroy();
      }
    };
    const closedByServer = () => {
      end();
      res.end();
    };
    feed.subscribe(send, lastEventId, closedByServer).then(
      (stop) => {
        if (closed) stop();
        else {
          unsubscribe = stop;
          // Headers and a first line now, so the client knows it is subscribed.
          res.write(': subscribed\n\n');
        }
      },
      (err: unknown) => {
        end();
        next(err);
      },
    );
  };
}
