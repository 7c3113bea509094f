import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const script = fileURLToPath(new URL('../fixtures/work-process.mjs', import.meta.url));

export interface WorkProcessConfig {
  database: string;
  topics?: string[];
  /** createJobs/createApp options. */
  options?: Record<string, unknown>;
  /** Random handler time, [min, max] ms, for jobs whose payload has no `ms`. */
  handlerMs?: [number, number];
  /** Serve HTTP too (createApp on 127.0.0.1:0), with this superuser. */
  http?: { email?: string; password?: string; options?: Record<string, unknown> };
  /** Enqueue `batches` batches of `size` jobs with enqueueMany, one after another; payloads say `{run, batch, i}`. */
  bulk?: { topic: string; size: number; batches: number; run: number };
  /** Print memory every so many ms (after a GC: the process runs with --expose-gc). */
  memoryEvery?: number;
  /** false: register handlers but never start() (a pure server). */
  start?: boolean;
  /** pino level for the child's own logs (default: silent). */
  logLevel?: string;
}

/** One handler run, as the process printed it. */
export interface Execution {
  id: string;
  token: string;
  start: number;
  lockedUntil: number;
  /** When the handler returned or gave up; undefined when the process died first. */
  end?: number;
  /** How the engine recorded it, when it got that far. */
  outcome?: string;
}

/** A work-process.mjs child and what it printed so far. */
export class WorkProcess {
  readonly lines: string[] = [];
  /** pino's JSON lines. */
  readonly logs: string[] = [];
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  private buffered = '';

  constructor(readonly config: WorkProcessConfig) {
    this.proc = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, JOBBASE_LOG_LEVEL: config.logLevel ?? 'silent' },
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n');
      this.buffered = parts.pop()!;
      for (const line of parts) (line.startsWith('{') ? this.logs : this.lines).push(line);
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.logs.push(chunk));
    // 'close', not 'exit': only then has everything the process printed been read.
    this.exited = new Promise((resolve) =>
      this.proc.on('close', (code, signal) => {
        this.signalCode = signal;
        resolve((this.exitCode = code));
      }),
    );
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async ready(timeout = 30_000): Promise<void> {
    await waitFor(`process ${this.proc.pid} ready`, () => {
      if (!this.running) throw new Error(`process exited early: ${this.logs.join('\n')}`);
      return this.lines.includes('ready');
    }, { timeout });
  }

  /** `http://127.0.0.1:PORT` once listening. */
  get url(): string {
    const line = this.lines.find((l) => l.startsWith('listening '));
    if (!line) throw new Error('not listening');
    return `http://127.0.0.1:${line.split(' ')[1]}`;
  }

  private fields(kind: string): string[][] {
    const prefix = `${kind} `;
    return this.lines.filter((l) => l.startsWith(prefix)).map((l) => l.split(' ').slice(1));
  }

  /** Every handler run this process started, joined with how it ended. */
  executions(): Execution[] {
    const byToken = new Map<string, Execution>();
    for (const [id, token, start, lockedUntil] of this.fields('start')) {
      byToken.set(token!, { id: id!, token: token!, start: Number(start), lockedUntil: Number(lockedUntil) });
    }
    for (const kind of ['end', 'abort']) {
      for (const [, token, at] of this.fields(kind)) {
        const e = byToken.get(token!);
        if (e) e.end = Number(at);
      }
    }
    for (const [outcome, , token] of this.fields('outcome')) {
      const e = byToken.get(token!);
      if (e) e.outcome = outcome;
    }
    return [...byToken.values()];
  }

  started(): number {
    return this.fields('start').length;
  }

  memory(): { rss: number; heapUsed: number; at: number }[] {
    return this.fields('mem').map(([rss, heap, at]) => ({ rss: Number(rss), heapUsed: Number(heap), at: Number(at) }));
  }

  batchesCommitted(): number[] {
    return this.fields('batch-committed').map(([n]) => Number(n));
  }

  batchesBegun(): number[] {
    return this.fields('batch-begin').map(([n]) => Number(n));
  }

  /** SIGTERM, then waits for the exit. */
  async terminate(): Promise<number | null> {
    if (this.running) this.proc.kill('SIGTERM');
    return this.exited;
  }

  async kill9(): Promise<number | null> {
    if (this.running) this.proc.kill('SIGKILL');
    return this.exited;
  }
}

/**
 * Checks the lock promise over every execution of every process: a job never started again
 * while an earlier run of it still held a valid lock. An earlier run lets its lock go only by
 * recording an outcome with it (completed, retried, failed, released: a compare-and-set on its
 * token that succeeded); a run whose process died, or that lost its lock, held it until
 * `lockedUntil`. A completed job never starts again at all. Returns the violations, as text.
 */
export function doubleRunsWithinLock(executions: Execution[]): string[] {
  const byJob = new Map<string, Execution[]>();
  for (const e of executions) byJob.set(e.id, [...(byJob.get(e.id) ?? []), e]);
  const released = new Set(['completed', 'retried', 'failed', 'released']);
  const problems: string[] = [];
  for (const [id, runs] of byJob) {
    runs.sort((a, b) => a.start - b.start);
    for (let i = 1; i < runs.length; i++) {
      const next = runs[i]!;
      for (const earlier of runs.slice(0, i)) {
        const describe = `run ${earlier.token} (started ${earlier.start}, locked until ${earlier.lockedUntil}, ` +
          `end ${earlier.end ?? 'never'}, outcome ${earlier.outcome ?? 'none'})`;
        if (earlier.outcome === 'completed') {
          problems.push(`job ${id}: run ${next.token} started at ${next.start} after ${describe} completed it`);
        } else if (!released.has(earlier.outcome ?? '') && next.start < earlier.lockedUntil) {
          problems.push(`job ${id}: run ${next.token} started at ${next.start} while ${describe} held a valid lock`);
        }
      }
    }
  }
  return problems;
}
