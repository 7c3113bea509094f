import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJobs } from '@jobbase/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/wait.js';

/**
 * The SQLite database holds the token signing secret and the superusers' password hashes.
 * Its folder was created 0755 and its files 0644, so any local user could read the secret and
 * sign tokens of their own. A folder Jobbase creates is now 0700 and a database file it creates
 * 0600, with its -wal and -shm files, whatever the umask.
 */

const CLI = fileURLToPath(new URL('../server/dist/cli.js', import.meta.url));

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** The modes of the database file and its -wal and -shm companions (each must exist). */
function fileModes(file: string): string[] {
  return ['', '-wal', '-shm'].map((suffix) => {
    expect(existsSync(file + suffix), `${file + suffix} exists`).toBe(true);
    return mode(file + suffix);
  });
}

let root: string;
let umask: number;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'jobbase-modes-'));
  umask = process.umask();
});
afterEach(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});

describe('file modes of a new SQLite database', () => {
  for (const mask of [0o022, 0o000]) {
    it(`createJobs, umask ${mask.toString(8).padStart(3, '0')}: new folders 0700, the file and its -wal and -shm 0600`, async () => {
      process.umask(mask);
      const file = join(root, 'jb_data', 'nested', 'data.db');
      const jobs = await createJobs({ database: `sqlite:${file}` });
      try {
        await jobs.enqueue('a', { n: 1 });
        expect([mode(join(root, 'jb_data')), mode(join(root, 'jb_data', 'nested'))]).toEqual(['700', '700']);
        expect(fileModes(file)).toEqual(['600', '600', '600']);
      } finally {
        await jobs.close();
      }
    });
  }

  it('a folder that exists keeps its mode; the new file in it is 0600', async () => {
    const folder = join(root, 'shared');
    mkdirSync(folder);
    chmodSync(folder, 0o755);
    const file = join(folder, 'data.db');
    const jobs = await createJobs({ database: file });
    try {
      await jobs.enqueue('a', { n: 1 });
      expect(mode(folder)).toBe('755');
      expect(fileModes(file)).toEqual(['600', '600', '600']);
    } finally {
      await jobs.close();
    }
  });

  it('a database file that exists keeps its mode (chmod it yourself)', async () => {
    const file = join(root, 'old.db');
    writeFileSync(file, '');
    chmodSync(file, 0o640);
    const jobs = await createJobs({ database: file });
    try {
      await jobs.enqueue('a', { n: 1 });
      expect(fileModes(file)).toEqual(['640', '640', '640']);
    } finally {
      await jobs.close();
    }
  });

  it('jobbase serve: the folder it creates is 0700, the files 0600', async () => {
    const file = join(root, 'jb_data', 'data.db');
    const child = spawn(process.execPath, [CLI, 'serve', '--http', '127.0.0.1:0', '--db', `sqlite:${file}`], {
      env: { ...process.env, JOBBASE_LOG_LEVEL: 'silent', JOBBASE_SUPERUSER_EMAIL: 'admin@example.com', JOBBASE_SUPERUSER_PASSWORD: 'a long password' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    const closed = once(child, 'close');
    try {
      await waitFor('serve to start', () => output.includes('Admin UI') || child.exitCode !== null);
      expect(output).toContain('Superuser admin@example.com created');
      expect(mode(join(root, 'jb_data'))).toBe('700');
      expect(fileModes(file)).toEqual(['600', '600', '600']);
    } finally {
      child.kill('SIGTERM');
      await closed;
    }
  });
});
