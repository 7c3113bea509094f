import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const workerScript = fileURLToPath(new URL('../fixtures/worker.mjs', import.meta.url));

export interface WorkerConfig {
  database: string;
  topic: string;
  options?: Record<string, unknown>;
  handlerMs?: number;
  /** Each handler runs until its signal aborts, and prints when and why. */
  untilAborted?: boolean;
}

/** A worker child process and the lines it printed so far. */
export class WorkerProcess {
  readonly lines: string[] = [];
  readonly proc: ChildProcess;
  private buffered = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;

  constructor(config: WorkerConfig) {
    this.proc = spawn(process.execPath, [workerScript, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, JOBBASE_LOG_LEVEL: process.env.JOBBASE_LOG_LEVEL ?? 'silent' },
    });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n');
      this.buffered = parts.pop()!;
      this.lines.push(...parts);
    });
    // 'close', not 'exit': only then has everything the process printed been read.
    this.exited = new Promise((resolve) => this.proc.on('close', (code) => resolve((this.exitCode = code))));
  }

  ready(): Promise<boolean> {
    return waitFor('worker ready', () => this.lines.includes('ready'));
  }

  /** Job ids this process started, in order (with repeats). */
  started(): { id: string; token: string; at: number }[] {
    return this.lines
      .filter((l) => l.startsWith('start '))
      .map((l) => {
        const [, id, token, at] = l.split(' ');
        return { id: id!, token: token!, at: Number(at) };
      });
  }

  /** Handlers whose signal aborted (`untilAborted`): when, and the reason's name. */
  aborted(): { id: string; at: number; reason: string }[] {
    return this.lines
      .filter((l) => l.startsWith('abort '))
      .map((l) => {
        const [, id, at, reason] = l.split(' ');
        return { id: id!, at: Number(at), reason: reason! };
      });
  }

  ended(): string[] {
    return this.lines.filter((l) => l.startsWith('end ')).map((l) => l.slice(4));
  }

  async stop(): Promise<number | null> {
    if (this.exitCode === null && this.proc.exitCode === null) this.proc.kill('SIGTERM');
    return this.exited;
  }

  kill9(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}
