// Every measurement runs in a fresh Node process (measure/main.mjs), so no JIT warmth, pool or
// leaked timer carries from one measurement to the next. Parent and child talk over the IPC
// channel: one request in, one result out. A child that overstays its deadline is killed.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../measure/main.mjs', import.meta.url));

/**
 * Runs measurement `kind` with `params` in a new process; resolves to its result.
 * @param {{ timeoutMs: number, execArgv?: string[] }} options
 */
export function runChild(kind, params, { timeoutMs, execArgv = [] }) {
  return new Promise((resolve, reject) => {
    const child = fork(MAIN, [], {
      execArgv,
      env: { ...process.env, JOBBASE_LOG_LEVEL: process.env.JOBBASE_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    let settled = false;
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4_000);
    });
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${kind}: no result after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.on('message', (message) => {
      if (message.ok) finish(null, message.result);
      else finish(new Error(`${kind}: ${message.error}`));
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => {
      finish(new Error(`${kind}: exited (${signal ?? code}) without a result. ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
    child.send({ kind, params });
  });
}
