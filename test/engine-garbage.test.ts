import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * A job's objects (its record, context, execution, promises) should die young: V8 collects them
 * in the young generation at almost no cost. Anything that keeps them alive through two young
 * collections moves them to the old generation, where they pile up until a full collection: that
 * made a 20,000-job drain's peak RSS grow from about 95 MB to 190 MB (docs/benchmarks.md,
 * Memory). The child runs jobs through the engine over an in-memory store, so what it measures
 * is the engine's own garbage, with V8's GC trace on.
 */
const fixture = fileURLToPath(new URL('./fixtures/engine-garbage.mjs', import.meta.url));
const run = promisify(execFile);
const JOBS = 50_000;

describe('the engine’s per-job garbage', () => {
  it('dies young: what outlives young collections stays under 300 bytes a job', async () => {
    const { stdout } = await run(process.execPath, ['--trace-gc-nvp', fixture, String(JOBS)], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    expect(stdout).toContain(`done ${JOBS}`);
    const scavenges = stdout.split('\n').filter((line) => /\bgc=s\b/.test(line));
    const promoted = scavenges.reduce((sum, line) => sum + Number(/\bpromoted=(\d+)/.exec(line)?.[1] ?? NaN), 0);
    // Enough young collections happened for the figure to mean something.
    expect(scavenges.length).toBeGreaterThan(10);
    // Measured: about 50 bytes a job; 1,300–2,500 when a Map churned by job or the context's
    // spread literal kept jobs alive.
    expect(promoted / JOBS).toBeLessThan(300);
  });
});
