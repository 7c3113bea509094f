import type { Logger } from '../logger.js';
import type { ClaimedJob, JobClaimParams, JobStore } from '../store/types.js';
import { Execution, type Ending, type ExecutorDeps } from './executor.js';
import type { RegisteredTopic } from './topic-settings.js';

export interface ProducerOptions {
  workerPoolSize: number;
  batchSize: number;
  pollInterval: number;
  lockDuration: number;
}

/**
 * The fetch loop. It claims only registered topics and never more than its free slots; while
 * claims come back full it claims again at once (there is more work); when a claim comes back
 * short it sleeps the poll interval, unless `wake()` (a due job was enqueued here, or a slot
 * freed while work was waiting) cuts the sleep short.
 */
export class Producer {
  /**
   * Jobs whose handler holds a worker slot. Arrays, not a Map and a Set with an entry added and
   * deleted per job: V8 links each hash table such churn replaces to its successor, and once
   * one of them sits in the old generation that chain keeps every job's objects alive through
   * young-generation collections. A 20,000-job drain promoted them all and its heap grew by
   * about 3 KB a job until a full collection (docs/benchmarks.md, Memory).
   */
  private readonly inflight: Execution[] = [];
  /** Results still being written; `stop()` waits for them too. */
  private readonly recording: Promise<unknown>[] = [];
  private wakeScheduled = false;
  private running = false;
  private loop: Promise<void> | null = null;
  /** The last claim filled every slot it asked for: a freed slot should claim again. */
  private saturated = false;
  private wakeRequested = false;
  private wakeUp: (() => void) | null = null;
  /** What every claim asks for but its limit, kept until a topic is registered. */
  private claimTopics: Omit<JobClaimParams, 'limit'> | null = null;

  constructor(
    private readonly store: JobStore,
    /** Topics are only ever added (`register`), never removed. */
    private readonly topics: ReadonlyMap<string, RegisteredTopic>,
    private readonly deps: ExecutorDeps,
    private readonly options: ProducerOptions,
    private readonly onOutcome: (job: ClaimedJob, ending: Ending | Error) => void,
    private readonly logger: Logger,
    /** Each claim's jobs (perhaps none) and its round trip, ms: for metrics. */
    private readonly onClaimed?: (jobs: ClaimedJob[], ms: number) => void,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  /**
   * Stops claiming, waits up to `timeout` ms for in-flight handlers, then aborts the rest and
   * releases their jobs to pending.
   */
  async stop(timeout: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    await this.loop;
    const all = () => Promise.all(this.inflight.map((e) => e.done.catch(() => undefined)));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeout)));
    const result = await Promise.race([all(), expired]);
    clearTimeout(timer);
    if (result === 'timeout') {
      for (const execution of [...this.inflight]) execution.abortForShutdown();
      await all();
    }
    await Promise.all([...this.recording]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.options.workerPoolSize - this.inflight.length;
      if (free <= 0) {
        await this.sleep(this.options.pollInterval);
        continue;
      }
      const limit = Math.min(free, this.options.batchSize);
      this.wakeRequested = false;
      let claimed: ClaimedJob[];
      try {
        const started = performance.now();
        claimed = await this.store.jobClaim({ ...this.topicsToClaim(), limit });
        this.onClaimed?.(claimed, performance.now() - started);
      } catch (err) {
        this.logger.error({ err }, 'claiming jobs failed; retrying after the poll interval');
        await this.sleep(this.options.pollInterval);
        continue;
      }
      for (const job of claimed) this.execute(job);
      this.saturated = claimed.length === limit;
      if (!this.saturated) await this.sleep(this.options.pollInterval);
      // A store whose driver answers synchronously (SQLite) resolves every claim, handler and
      // completion as a microtask: without a turn of the event loop here a busy queue would
      // starve the process's timers and I/O for as long as the backlog lasts.
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The registered topics, and the lock of each whose own differs from the engine's. */
  private topicsToClaim(): Omit<JobClaimParams, 'limit'> {
    if (this.claimTopics?.topics.length === this.topics.size) return this.claimTopics;
    const lockDurationByTopic = new Map<string, number>();
    for (const [topic, { lockDuration }] of this.topics) {
      if (lockDuration !== this.options.lockDuration) lockDurationByTopic.set(topic, lockDuration);
    }
    this.claimTopics = {
      topics: [...this.topics.keys()],
      lockDuration: this.options.lockDuration,
      ...(lockDurationByTopic.size > 0 ? { lockDurationByTopic } : {}),
    };
    return this.claimTopics;
  }

  /**
   * The slot frees as soon as the handler is done, not when its result is written: the next
   * claim then overlaps the completion write instead of waiting behind it (completions that
   * pile up meanwhile go out together in the completer's next statement).
   */
  private execute(job: ClaimedJob): void {
    const execution = new Execution(job, this.topics.get(job.topic)!, this.deps);
    this.inflight.push(execution);
    void execution.settled.then(() => this.slotFreed(execution));
    const recorded = execution.done.then(
      (ending) => this.onOutcome(job, ending),
      (err: Error) => {
        this.logger.error({ err, job: job.id }, 'recording a job result failed; it will be rescued after its lock expires');
        this.onOutcome(job, err);
      },
    );
    this.recording.push(recorded);
    void recorded.finally(() => removeFrom(this.recording, recorded));
  }

  /** Handlers finishing together free their slots in one claim: the wake waits a turn. */
  private slotFreed(execution: Execution): void {
    removeFrom(this.inflight, execution);
    if (!this.saturated || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wake();
    });
  }

  /** Sleeps `ms` or until `wake()`; a wake that came while awake is consumed here. */
  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested || !this.running) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = null;
        this.wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

/** Removes `item` (once) by moving the last element into its place: order does not matter here. */
function removeFrom<T>(items: T[], item: T): void {
  const index = items.indexOf(item);
  if (index === -1) return;
  items[index] = items[items.length - 1]!;
  items.pop();
}
