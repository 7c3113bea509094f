import { createInterface } from 'node:readline';
import { read } from 'read';
import { UsageError } from './usage-error.js';

/**
 * The password for `superuser upsert` when it is not on the command line, where it would stay
 * in the shell's history and show in `ps`: asked for, unseen and twice, on a terminal; otherwise
 * the first line of standard input (`… | jobbase superuser upsert EMAIL`).
 */
export function readPassword(): Promise<string> {
  return process.stdin.isTTY ? promptPassword() : firstLineOfStdin();
}

async function promptPassword(): Promise<string> {
  const password = await ask('Password: ');
  if ((await ask('Password (again): ')) !== password) throw new UsageError('The passwords differ; nothing was changed.');
  return password;
}

/** One line, unseen: the terminal's echo is off while it is typed (stdin is a terminal here). */
async function ask(prompt: string): Promise<string> {
  try {
    return await read({ prompt, silent: true, replace: '', terminal: true, output: process.stderr });
  } catch (err) {
    if ((err as Error).message === 'canceled') throw new UsageError('Canceled; nothing was changed.');
    throw err;
  }
}

async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) return line;
  throw new UsageError('No password: give it after the email, or as the first line of standard input.');
}
