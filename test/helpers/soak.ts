import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `npm run soak` sets JOBBASE_SOAK=1: the reliability tests then run the full figures. */
export function soak(): boolean {
  return process.env.JOBBASE_SOAK === '1';
}

/** A whole-number setting from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/**
 * Prints a test's figures and appends them to test-artifacts/reliability.jsonl, where
 * docs/reliability.md's numbers come from.
 */
export function report(test: string, dialect: string, figures: Record<string, unknown>): void {
  const line = { test, dialect, soak: soak(), at: new Date().toISOString(), ...figures };
  console.log(`${test} on ${dialect}: ${JSON.stringify(figures)}`);
  mkdirSync(artifacts, { recursive: true });
  appendFileSync(`${artifacts}reliability.jsonl`, `${JSON.stringify(line)}\n`);
}
