import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GuideRun } from './helpers/guide-runner.js';
import { codeBlocks, jsonDifference, missingLine } from './helpers/markdown-blocks.js';
import { commandExists, prerequisite } from './helpers/prerequisites.js';

/** The guides in docs/, in reading order. Each is followed top to bottom; every command runs. */
const GUIDES = ['getting-started.md', 'server.md', 'client.md', 'http.md'];

describe('the guides in docs/', () => {
  it.for(GUIDES)('%s runs as written', { timeout: 300_000 }, async (guide, { skip }) => {
    const usesCurl = codeBlocks(await readFile(`docs/${guide}`, 'utf8')).some((b) => b.lang === 'sh' && /\bcurl\b/.test(b.code));
    if (usesCurl && !prerequisite(commandExists('curl'), `${guide} calls curl, which is not installed (apt-get install curl)`)) skip();
    const run = await GuideRun.create(guide);
    try {
      await run.run();
    } finally {
      await run.cleanup();
    }
  });

  it('are linked from the README', async () => {
    const readme = await readFile('README.md', 'utf8');
    for (const guide of GUIDES) expect(readme, guide).toContain(`(docs/${guide})`);
  });
});

describe('the guide checker itself', () => {
  it('reads fences, their file names and the directive above them', () => {
    const blocks = codeBlocks('# T\n\n<!-- docs-test: background -->\n\n```sh\nnode x\n```\n\n```ts a.ts\nconst a = 1;\n```\n');
    expect(blocks).toEqual([
      { lang: 'sh', file: undefined, code: 'node x\n', line: 5, directive: 'background' },
      { lang: 'ts', file: 'a.ts', code: 'const a = 1;\n', line: 9, directive: undefined },
    ]);
    expect(() => codeBlocks('```sh\nnever closed\n')).toThrow(/never closed/);
  });

  it('compares JSON exactly, except ids, times and tokens, which only keep their format', () => {
    const shown = { id: '0193a1b2-0000-7000-8000-000000000000', run_at: '2026-01-01T00:00:00.000Z', n: 1, s: 'pending' };
    const same = { id: '01940000-1111-7222-8333-444455556666', run_at: '2027-02-03T04:05:06.789Z', n: 1, s: 'pending' };
    expect(jsonDifference(shown, same)).toBeNull();
    expect(jsonDifference(shown, { ...same, s: 'failed' })).toMatch(/\$\.s/);
    expect(jsonDifference(shown, { ...same, id: 'x' })).toMatch(/\$\.id/);
    expect(jsonDifference(shown, { ...same, extra: 1 })).toMatch(/keys/);
    expect(jsonDifference([1, 2], [1])).toMatch(/2 items/);
  });

  it('finds the shown lines in order, with … matching anything', () => {
    expect(missingLine('a\nb …\n', 'log\na\nlog\nb 42\n')).toBeNull();
    expect(missingLine('b\na\n', 'a\nb\n')).toBe('a');
  });
});
