import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { JobChange, OperationsStore } from '../store/types.js';

/** Events kept for `Last-Event-ID` resumption. */
export const DEFAULT_FEED_BUFFER = 10_000;

/**
 * One event of the feed. `type` is a job change's (`created`, `started`, `progress`, `completed`, `failed`,
 * `retried`, …; see JobChange) or `gap`: events may have been lost (the database connection
 * dropped, or a resume from further back than the buffer holds); reload what you show.
 */
export interface FeedEvent {
  /** `<feed>.<sequence>`: resumable only on the process that sent it, within its buffer. */
  id: string;
  type: string;
  job?: { id: string; topic: string; status: string };
  at: string;
}

export type FeedListener = (events: FeedEvent[]) => void;

/**
 * The store's change signal (PostgreSQL NOTIFY, SQLite's change table), fanned out to this
 * process's subscribers, with the last `bufferSize` events kept so a reconnecting client that
 * sends the id of the last event it saw misses nothing. The store is listened to from the first
 * subscription until `close()`.
 */
export class ChangeFeed {
  private readonly feedId = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly buffer: FeedEvent[] = [];
  private readonly listeners = new Set<FeedListener>();
  private readonly closers = new Set<() => void>();
  private listening: Promise<(() => Promise<void>) | null> | null = null;
  private closed = false;

  constructor(
    private readonly store: OperationsStore,
    private readonly logger: Logger,
    private readonly bufferSize = DEFAULT_FEED_BUFFER,
  ) {}

  /**
   * Adds a listener; resolves once the store is being listened to. With `lastEventId`, first
   * hands it the buffered events after that one, or a `gap` event when they are not all kept.
   */
  async subscribe(listener: FeedListener, lastEventId?: string, onClose?: () => void): Promise<() => void> {
    await (this.listening ??= this.listen());
    if (this.closed) throw new Error('The change feed is closed.');
    if (lastEventId !== undefined) {
      const missed = this.since(lastEventId);
      listener(missed ?? [this.event('gap', undefined, false)]);
    }
    this.listeners.add(listener);
    if (onClose) this.closers.add(onClose);
    return () => {
      this.listeners.delete(listener);
      if (onClose) this.closers.delete(onClose);
    };
  }

  /** The buffered events after `id`, or null when some of them are no longer kept (or `id` is another feed's). */
  private since(id: string): FeedEvent[] | null {
    const [feed, seqText] = id.split('.');
    const seq = Number(seqText);
    if (feed !== this.feedId || !Number.isInteger(seq) || seq > this.seq) return null;
    const oldest = this.seq - this.buffer.length + 1;
    if (seq < oldest - 1) return null;
    return this.buffer.slice(seq - oldest + 1);
  }

  private async listen(): Promise<(() => Promise<void>) | null> {
    if (this.closed) return null;
    return this.store.listenForChanges({
      onChanges: (changes) => this.publish(changes.map((c) => this.fromChange(c))),
      onGap: () => this.publish([this.event('gap')]),
    });
  }

  private fromChange(c: JobChange): FeedEvent {
    return this.event(c.type, { id: c.id, topic: c.topic, status: c.status });
  }

  private event(type: string, job?: FeedEvent['job'], kept = true): FeedEvent {
    const id = `${this.feedId}.${kept ? ++this.seq : this.seq}`;
    const event: FeedEvent = { id, type, ...(job ? { job } : {}), at: new Date().toISOString() };
    if (kept) {
      this.buffer.push(event);
      if (this.buffer.length > this.bufferSize) this.buffer.splice(0, this.buffer.length - this.bufferSize);
    }
    return event;
  }

  private publish(events: FeedEvent[]): void {
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (err) {
        this.logger.warn({ err }, 'a change feed subscriber failed');
      }
    }
  }

  /** Stops listening to the store; subscribers hear nothing more. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    for (const onClose of this.closers) onClose();
    this.closers.clear();
    const stop = await this.listening?.catch(() => null);
    await stop?.();
  }
}
