import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/*
 * `jobbase` as a reader runs it: `npx jobbase …` in the clone after `npm ci` (which links the
 * bin into node_modules/.bin), and in a project that installs the packed @jobbase/server. npm
 * links a bin only if its target exists when it installs, before anything is built, so the
 * target is a committed file (server/bin/jobbase.js) that starts the built CLI.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const server = join(root, 'server');

interface ServerManifest {
  version: string;
  bin: Record<string, string>;
  files: string[];
}

async function serverManifest(): Promise<ServerManifest> {
  return JSON.parse(await readFile(join(server, 'package.json'), 'utf8')) as ServerManifest;
}

describe('the jobbase command', () => {
  it('npx jobbase runs the CLI from the clone, at its root and below', async () => {
    const { version } = await serverManifest();
    for (const cwd of [root, join(root, 'docs')]) {
      // As the docs write it. In the clone npx never fetches it: the root package is named jobbase.
      const { stdout } = await run('npx', ['jobbase', '--version'], { cwd });
      expect(stdout.trim()).toBe(version);
    }
  });

  it('npm links the bin into node_modules/.bin, at a committed, executable file', async () => {
    const { bin } = await serverManifest();
    expect(bin).toEqual({ jobbase: './bin/jobbase.js' });
    expect(await realpath(join(root, 'node_modules', '.bin', 'jobbase'))).toBe(join(server, 'bin', 'jobbase.js'));
    const { stdout } = await run('git', ['ls-files', '--stage', 'server/bin/jobbase.js'], { cwd: root });
    expect(stdout.split(' ')[0]).toBe('100755');
  });

  it('the packed @jobbase/server holds the bin, executable, and the CLI it starts', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: server });
    const [packed] = JSON.parse(stdout) as { files: { path: string; mode: number }[] }[];
    const files = new Map(packed!.files.map((f) => [f.path, f.mode]));
    expect(files.get('bin/jobbase.js')! & 0o111).toBe(0o111);
    expect(files.has('dist/cli.js')).toBe(true);
  });

  it('before a build, the bin says to run the build', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-bin-'));
    try {
      await mkdir(join(dir, 'bin'));
      await copyFile(join(server, 'bin', 'jobbase.js'), join(dir, 'bin', 'jobbase.js'));
      const failed = await run(process.execPath, [join(dir, 'bin', 'jobbase.js'), '--version']).catch((err: unknown) => err);
      expect(failed).toMatchObject({ code: 1 });
      expect((failed as { stderr: string }).stderr).toContain('run `npm run build`');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
