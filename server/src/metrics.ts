import { JOB_STATUSES } from '@jobbase/contract';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClaimedJob, Jobs } from './engine/jobs.js';

/** What metrics read of an engine: its store and its events. */
type MeasuredEngine = Pick<Jobs, 'store' | 'events'>;

/**
 * Prometheus metrics of one engine (`prom-client`). Two kinds of figures:
 * - from the database, read at each scrape, the same whichever process is scraped: jobs by
 *   topic and status (the kept counts, job_counts: a few rows, no table scan) and, per topic
 *   with pending jobs, how long the job the claim would take next has been due;
 * - from this process's workers, fed by the engine's events: jobs started, completed, failed and
 *   retried, handler durations, the wait from due to start, claim round trips. A process that
 *   runs no handlers (`jobbase serve`) reports them at zero, with no samples.
 */
export class JobMetrics {
  /** The Prometheus text format, 0.0.4. */
  readonly registry = new Registry();
  /** The same metrics as OpenMetrics 1.0.0. */
  readonly openMetricsRegistry = new Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>();
  /** When each running job started (keyed by id and lock token), for its handler's duration. */
  private readonly startedAt = new Map<string, number>();
  private readonly detach: () => void;

  constructor(jobs: MeasuredEngine, options: { prefix?: string } = {}) {
    const prefix = options.prefix ?? 'jobbase_';
    this.openMetricsRegistry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const registers = [this.registry, this.openMetricsRegistry] as Registry[];
    const store = jobs.store;

    new Gauge({
      name: `${prefix}jobs`,
      help: 'Jobs in the database by topic and status, from the kept counts.',
      labelNames: ['topic', 'status'],
      registers,
      async collect() {
        this.reset();
        const counts = await store.jobCountByTopicAndStatus();
        // Every status of every topic that has jobs, zeros included, so a rate() sees a drop to 0.
        for (const topic of new Set(counts.map((c) => c.topic))) {
          for (const status of JOB_STATUSES) this.set({ topic, status }, 0);
        }
        for (const c of counts) this.set({ topic: c.topic, status: c.status }, c.n);
      },
    });
    new Gauge({
      name: `${prefix}oldest_due_job_age_seconds`,
      help: 'Per topic with due pending jobs: how long the job the claim would take next has been due.',
      labelNames: ['topic'],
      registers,
      async collect() {
        this.reset();
        const counts = await store.jobCountByTopicAndStatus();
        const now = new Date();
        const due = await store.jobNextDueByTopic(
          counts.filter((c) => c.status === 'pending' && c.n > 0).map((c) => c.topic),
          now,
        );
        for (const [topic, runAt] of due) this.set({ topic }, Math.max(0, (now.getTime() - runAt.getTime()) / 1000));
      },
    });

    const counter = (name: string, help: string) => new Counter({ name: `${prefix}${name}`, help, labelNames: ['topic'], registers });
    const started = counter('jobs_started_total', 'Jobs this process claimed and started.');
    const completed = counter('jobs_completed_total', 'Jobs this process completed.');
    const failed = counter('jobs_failed_total', 'Jobs this process failed for good (no retries left, or a PermanentError).');
    const retried = counter('jobs_retried_total', 'Failed attempts in this process that were retried.');
    const cancelled = counter('jobs_cancelled_total', 'Jobs cancelled while their handler ran in this process (they ended `cancelled`).');
    const duration = new Histogram({
      name: `${prefix}job_duration_seconds`,
      help: 'Handler run time in this process, from start to the outcome written, by topic and outcome.',
      labelNames: ['topic', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    const startDelay = new Histogram({
      name: `${prefix}job_start_delay_seconds`,
      help: 'Time from a job being due (run_at) to this process starting it, by topic.',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    const claimTime = new Histogram({
      name: `${prefix}claim_duration_seconds`,
      help: 'Round trip of one claim of this process to the database.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });

    const key = (job: ClaimedJob) => `${job.id} ${job.lockToken}`;
    const onClaimed = (claimed: ClaimedJob[], ms: number) => {
      claimTime.observe(ms / 1000);
      const now = Date.now();
      for (const job of claimed) {
        started.inc({ topic: job.topic });
        startDelay.observe({ topic: job.topic }, Math.max(0, (now - job.runAt.getTime()) / 1000));
        this.startedAt.set(key(job), now);
      }
    };
    const ended = (outcome: string, count?: Counter) => (job: ClaimedJob) => {
      count?.inc({ topic: job.topic });
      const since = this.startedAt.get(key(job));
      if (since === undefined) return;
      this.startedAt.delete(key(job));
      duration.observe({ topic: job.topic, outcome }, (Date.now() - since) / 1000);
    };
    const handlers = {
      'jobs:claimed': onClaimed,
      'job:completed': ended('completed', completed),
      'job:failed': ended('failed', failed),
      'job:retried': ended('retried', retried),
      'job:cancelled': ended('cancelled', cancelled),
      'job:snoozed': ended('snoozed'),
      'job:released': ended('released'),
      'job:lost': ended('lost'),
      'job:error': ended('error'),
    } as const;
    for (const [event, handler] of Object.entries(handlers)) jobs.events.on(event as 'job:completed', handler as never);
    this.detach = () => {
      for (const [event, handler] of Object.entries(handlers)) jobs.events.off(event as 'job:completed', handler as never);
    };
  }

  /** The exposition for an `Accept` header: OpenMetrics when asked for, else Prometheus text. */
  async exposition(accept: string | undefined): Promise<{ contentType: string; body: string }> {
    const registry = accept?.includes('application/openmetrics-text') ? this.openMetricsRegistry : this.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  /** Stops listening to the engine's events. */
  close(): void {
    this.detach();
  }
}
