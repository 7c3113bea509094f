import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeBlocks, jsonDifference, missingLine, type CodeBlock } from './markdown-blocks.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The port the guides use; each run swaps in a free one, so a developer's own server is left alone. */
const GUIDE_PORT = '8090';

/** Shell variables a block sets (`TOKEN=$(…)`) are kept here for the blocks after it, as in one terminal. */
const STATE_FILE = '.guide-shell-state.sh';

interface Finished {
  block: CodeBlock;
  /** What it printed; for a server in the background, read when the output is checked. */
  output: () => string;
}

/**
 * Follows a guide top to bottom as a reader would, in a fresh folder inside the clone (so
 * `@jobbase/*`, `zod`, `tsx` resolve as they do for the reader, and `./jb_data` is new):
 * ```ts FILE and ```js FILE blocks are written to FILE; ```sh blocks run in bash
 * (`<!-- docs-test: background -->` before one: a server, left running until the next
 * background block or the end, and awaited on /api/health); a ```json or ```text block right
 * after a command is that command's output and is compared with what it printed. At the end the
 * TypeScript files are type-checked.
 */
export class GuideRun {
  private readonly files = new Map<string, string>();
  private readonly commands: string[] = [];
  private server: { child: ChildProcess; output: string[] } | null = null;
  private last: Finished | null = null;

  private constructor(
    readonly guide: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(guide: string): Promise<GuideRun> {
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    const dir = await mkdtemp(join(ROOT, '.tmp', 'guide-'));
    // Guides run the CLI as `npx jobbase` (found in the clone's node_modules/.bin, up the tree)
    // or as `node server/dist/cli.js`, as from the clone's root.
    await symlink(join(ROOT, 'server'), join(dir, 'server'));
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, types: ['node'] },
        include: ['*.ts'],
      }),
    );
    return new GuideRun(guide, dir, await freePort());
  }

  async run(): Promise<void> {
    const markdown = await readFile(join(ROOT, 'docs', this.guide), 'utf8');
    for (const block of codeBlocks(markdown)) {
      const where = `${this.guide}:${block.line}`;
      try {
        await this.runBlock(block);
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
      }
    }
    await this.stopServer();
    for (const file of this.files.keys()) {
      if (!this.runs(file)) throw new Error(`${this.guide}: no command in the guide runs ${file}, nor a file importing it.`);
    }
    if (this.files.size > 0) await this.typeCheck();
  }

  /** Whether a command runs `file`, or runs a file that imports it. */
  private runs(file: string, seen = new Set<string>()): boolean {
    if (seen.has(file)) return false;
    seen.add(file);
    if (this.commands.some((c) => c.includes(file))) return true;
    const specifier = `'./${file.replace(/\.ts$/, '.js')}'`;
    return [...this.files].some(([other, code]) => code.includes(specifier) && this.runs(other, seen));
  }

  async cleanup(): Promise<void> {
    await this.stopServer();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async runBlock(block: CodeBlock): Promise<void> {
    switch (block.lang) {
      case 'ts':
      case 'js': {
        if (!block.file) throw new Error(`a \`\`\`${block.lang} block names the file it belongs to: \`\`\`${block.lang} worker.${block.lang}`);
        const code = (this.files.get(block.file) ?? '') + this.local(block.code);
        this.files.set(block.file, code);
        await writeFile(join(this.dir, block.file), code);
        this.last = null;
        return;
      }
      case 'sh':
        this.commands.push(block.code);
        this.last = block.directive === 'background' ? await this.startServer(block) : await this.runCommand(block);
        return;
      case 'json':
      case 'text':
        return this.checkOutput(block);
      default:
        throw new Error(`the docs test does not know how to check a \`\`\`${block.lang} block`);
    }
  }

  /** The guide's text with this run's port. */
  private local(text: string): string {
    return text.replaceAll(GUIDE_PORT, String(this.port));
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, JOBBASE_HTTP: `127.0.0.1:${this.port}`, NO_COLOR: '1' };
    // As a reader's shell: no test settings, the default log level.
    for (const name of ['JOBBASE_DB', 'JOBBASE_SUPERUSER_EMAIL', 'JOBBASE_SUPERUSER_PASSWORD', 'JOBBASE_LOG_LEVEL', 'FORCE_COLOR']) delete env[name];
    return env;
  }

  private async runCommand(block: CodeBlock): Promise<Finished> {
    // Every variable that exists after the block but not in a fresh shell is saved for the next.
    const script = [
      'set -eo pipefail',
      '__fresh=$(compgen -v)',
      `[ -f ${STATE_FILE} ] && source ${STATE_FILE}`,
      this.local(block.code),
      `for __name in $(compgen -v | grep -v -e '^__' -e '^BASH' -e '^_$'); do`,
      `  grep -qx "$__name" <<<"$__fresh" || declare -p "$__name"`,
      `done > ${STATE_FILE}`,
    ].join('\n');
    const child = spawn('bash', ['-c', script], { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const text = output.join('');
    if (code !== 0) throw new Error(`the command exited with ${code}:\n${block.code}\n${text}`);
    return { block, output: () => text };
  }

  private async startServer(block: CodeBlock): Promise<Finished> {
    await this.stopServer();
    const script = `[ -f ${STATE_FILE} ] && source ${STATE_FILE}\n${this.local(block.code)}`;
    // Its own process group, so stopping it reaches what it started (npx → tsx → node).
    const child = spawn('bash', ['-c', script], { cwd: this.dir, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const server = { child, output: [] as string[] };
    this.server = server;
    child.stdout!.on('data', (chunk: Buffer) => server.output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => server.output.push(chunk.toString()));
    await waitFor(
      `the server of ${this.guide} to answer on port ${this.port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${server.output.join('')}`);
        return fetch(`http://127.0.0.1:${this.port}/api/health`).then(
          (res) => res.ok,
          () => false,
        );
      },
      { timeout: 60_000, interval: 100 },
    );
    return { block, output: () => server.output.join('') };
  }

  /** Ctrl-C, as the guide says; the group is killed if it has not exited within 15 s. */
  private async stopServer(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server?.child.pid || server.child.exitCode !== null) return;
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    signalGroup(server.child.pid, 'SIGINT');
    const timer = setTimeout(() => signalGroup(server.child.pid!, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
    signalGroup(server.child.pid, 'SIGKILL'); // anything it left behind
  }

  private async checkOutput(block: CodeBlock): Promise<void> {
    const last = this.last;
    if (!last) throw new Error(`a \`\`\`${block.lang} block shows the output of the command right above it, and there is none`);
    const expected = this.local(block.code);
    if (block.lang === 'json') {
      const difference = jsonDifference(JSON.parse(expected), JSON.parse(last.output()));
      if (difference) throw new Error(`the output differs from the guide's at ${difference}\n${last.output()}`);
      return;
    }
    // A server prints as it goes: give it a moment to say what the guide shows.
    await waitFor('the output the guide shows', () => missingLine(expected, last.output()) === null, {
      timeout: 10_000,
      interval: 100,
    }).catch(() => {
      throw new Error(`the output lacks the line "${missingLine(expected, last.output())}":\n${last.output()}`);
    });
  }

  private async typeCheck(): Promise<void> {
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const child = spawn(process.execPath, [tsc, '-p', join(this.dir, 'tsconfig.json')], { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`${this.guide}: its TypeScript does not type-check:\n${output.join('')}`);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
