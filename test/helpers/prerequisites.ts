import { spawnSync } from 'node:child_process';

/** Whether the tests run under CI: `CI` set to anything but '', '0' or 'false'. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && !['', '0', 'false'].includes(value);
}

/**
 * Whether a test's prerequisite is there. Without it, the test is skipped with `missing`
 * printed, except under CI, where this throws with `missing`: CI never skips silently (.ci/run
 * installs and starts everything the tests need).
 */
export function prerequisite(available: boolean, missing: string): boolean {
  if (available) return true;
  if (underCi()) throw new Error(`CI is set, so this cannot be skipped: ${missing}.`);
  console.log(`Skipped: ${missing}.`);
  return false;
}

/** Whether `command` is on the PATH. */
export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
}
