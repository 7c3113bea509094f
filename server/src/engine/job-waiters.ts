import type { Logger } from '../logger.js';
import type { JobRecord, JobStore } from '../store/types.js';

/** Waits are also settled by a look this often, ms, should a change signal be missed. */
export const WAIT_FALLBACK_POLL = 2_000;

interface Waiter {
  id: string;
  resolve: (job: JobRecord | null) => void;
}

/**
 * Everyone waiting for a job to finish (`jobs.waitFor`, `GET /api/jobs/{id}/wait`). A change
 * signal (PostgreSQL: the NOTIFY every finishing statement sends; SQLite: another connection's
 * commit; this process: its own finished jobs) makes ONE query for every job waited on, however
 * many waits are open; a slow poll covers a signal that never came. The signal is listened for
 * only while someone waits.
 */
export class JobWaiters {
  private readonly waiting = new Map<string, Set<Waiter>>();
  private unlisten: Promise<(() => Promise<void>) | undefined> | null = null;
  private fallback: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private again = false;
  private lookSoon = false;
  private closed = false;

  constructor(
    private readonly store: JobStore,
    private readonly logger: Logger,
  ) {}

  /** Resolves to the job once final, or null when `timeout` ms passed or `signal` aborted first. */
  async wait(id: string, timeout: number, signal?: AbortSignal): Promise<JobRecord | null> {
    if (this.closed) return null;
    let waiter!: Waiter;
    const settled = new Promise<JobRecord | null>((resolve) => (waiter = { id, resolve }));
    let set = this.waiting.get(id);
    if (!set) this.waiting.set(id, (set = new Set()));
    set.add(waiter);
    const timer = setTimeout(() => waiter.resolve(null), timeout);
    const aborted = () => waiter.resolve(null);
    signal?.addEventListener('abort', aborted, { once: true });
    this.unlisten ??= this.listen();
    this.fallback ??= setInterval(() => this.poke(), WAIT_FALLBACK_POLL).unref();
    // The job may have finished after the caller last read it and before the signal was heard:
    // one look once listening, for all the waits opened meanwhile.
    if (!this.lookSoon) {
      this.lookSoon = true;
      void this.unlisten.then(() =>
        setImmediate(() => {
          this.lookSoon = false;
          this.poke();
        }),
      );
    }
    try {
      return await settled;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      set.delete(waiter);
      if (set.size === 0 && this.waiting.get(id) === set) this.waiting.delete(id);
      if (this.waiting.size === 0) await this.quiet();
    }
  }

  /** Something may have finished: look (once for all waits; a look under way looks again after). */
  poke(): void {
    if (this.waiting.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.check().finally(() => {
      this.checking = null;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }

  /** Ends every wait (answered with the job as it stands) and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.waiting.values()) for (const waiter of set) waiter.resolve(null);
    await this.quiet();
  }

  private async check(): Promise<void> {
    try {
      const finished = await this.store.jobGetFinal([...this.waiting.keys()]);
      for (const job of finished) for (const waiter of this.waiting.get(job.id) ?? []) waiter.resolve(job);
    } catch (err) {
      this.logger.warn({ err }, 'looking for finished jobs failed; the waits go on');
    }
  }

  private async listen(): Promise<(() => Promise<void>) | undefined> {
    try {
      return await this.store.listenForFinishes?.(() => this.poke());
    } catch (err) {
      this.logger.warn({ err }, 'listening for finished jobs failed; waits are settled by polling');
      return undefined;
    }
  }

  /** Nobody waits: no listening, no polling. */
  private async quiet(): Promise<void> {
    if (this.fallback) clearInterval(this.fallback);
    this.fallback = null;
    const unlisten = this.unlisten;
    this.unlisten = null;
    await (await unlisten)?.();
  }
}
