import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const script = fileURLToPath(new URL('../fixtures/remote-worker.mjs', import.meta.url));

export interface RemoteWorkerConfig {
  baseUrl: string;
  token: string;
  topics: string[];
  concurrency?: number;
  wait?: number;
  handlerMs?: number;
  /** Each handler runs until its signal aborts. */
  untilAborted?: boolean;
}

/** A remote-worker.mjs child (createRemoteWorker over HTTP) and what it printed. */
export class RemoteWorkerProcess {
  readonly lines: string[] = [];
  readonly proc: ChildProcess;
  private buffered = '';
  readonly exited: Promise<number | null>;

  constructor(config: RemoteWorkerConfig) {
    this.proc = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n');
      this.buffered = parts.pop()!;
      this.lines.push(...parts);
    });
    this.exited = new Promise((resolve) => this.proc.on('close', resolve));
  }

  ready(): Promise<boolean> {
    return waitFor('remote worker ready', () => this.lines.includes('ready'));
  }

  /** Job ids whose handler this process ran, with repeats. */
  runs(): string[] {
    return this.lines.filter((l) => l.startsWith('run ')).map((l) => l.split(' ')[1]!);
  }

  aborted(): { id: string; reason: string }[] {
    return this.lines.filter((l) => l.startsWith('abort ')).map((l) => ({ id: l.split(' ')[1]!, reason: l.split(' ')[2]! }));
  }

  async stop(): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill('SIGTERM');
    return this.exited;
  }

  kill9(): Promise<number | null> {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
    return this.exited;
  }
}
