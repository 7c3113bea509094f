import pg from 'pg';
import type { Logger } from '../../logger.js';
import { redactDatabaseUrl } from '../open.js';
import { isPooled } from './pooler.js';

/** The channel enqueue notifies on; the payload is the job's topic. */
export const JOBS_CHANNEL = 'jobbase_jobs';

/** The channel statements that may finish jobs notify on (issue 15: waiting for a job); no payload. */
export const FINISHED_CHANNEL = 'jobbase_finished';
/** The channel the change-feed triggers notify on (migration 0011_operations); payloads are JSON arrays of changes. */
export const CHANGES_CHANNEL = 'jobbase_changes';

const MAX_RECONNECT_DELAY = 5_000;

/**
 * One dedicated connection that LISTENs for new jobs, so an idle worker starts a job enqueued by
 * any process within milliseconds instead of a poll interval. When the connection drops
 * (pg_terminate_backend, a restart) it reconnects with backoff, LISTENs again and reports
 * `onWake`, since notifications sent while it was away are lost and a claim should look.
 *
 * Through a pooler (PgBouncer) LISTEN seems to work but nothing arrives: in transaction mode
 * the LISTEN is left on a server connection that goes back to the pool, whose notifications
 * PgBouncer drops. So it LISTENs only on a direct connection; found a pooler, it gives up
 * (says so once: the worker then finds new jobs by polling) rather than LISTEN there.
 */
export class JobsListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    private readonly url: string,
    private readonly onTopic: (topic: string) => void,
    private readonly onWake: () => void,
    private readonly logger: Logger,
    /** JOBS_CHANNEL (new jobs' topics), FINISHED_CHANNEL (no payload) or CHANGES_CHANNEL (the change feed's batches). */
    private readonly channel: string = JOBS_CHANNEL,
  ) {}

  /** Resolves once the first LISTEN is in place (or failed; it keeps retrying then). */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'jobbase-listener' });
    client.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload !== undefined) this.onTopic(msg.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      if (await isPooled(client)) {
        this.stopped = true;
        client.removeAllListeners();
        client.on('error', () => undefined);
        await client.end().catch(() => undefined);
        const found =
          this.channel === JOBS_CHANNEL
            ? 'new jobs are found by polling, every pollInterval; set listenUrl to a direct connection to PostgreSQL to start them within milliseconds'
            : 'waits for jobs are settled by their slow poll; set listenUrl to a direct connection to PostgreSQL to end them within milliseconds';
        this.logger.warn(
          { listenUrl: redactDatabaseUrl(this.url) },
          `LISTEN connection goes through a pooler (PgBouncer?), which does not deliver notifications: ${found}`,
        );
        return;
      }
      await client.query(`listen ${this.channel}`);
      if (this.stopped) {
        await client.end();
        return;
      }
      this.client = client;
      if (this.attempt > 0) {
        this.logger.info({ attempts: this.attempt }, 'LISTEN connection restored');
        this.onWake();
      }
      this.attempt = 0;
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.stopped || (this.client !== null && this.client !== client) || this.retryTimer) return;
    this.client = null;
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    const delay = Math.min(MAX_RECONNECT_DELAY, 100 * 2 ** this.attempt++);
    this.logger.warn({ err: err.message, retryIn: delay }, 'LISTEN connection lost; reconnecting');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
