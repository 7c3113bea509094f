import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Topics } from '@jobbase/server';
import { describe, expect, it } from 'vitest';
import { GuideRun } from './helpers/guide-runner.js';
import { codeBlocks, jsonDifference, missingLine } from './helpers/markdown-blocks.js';
import { commandExists, prerequisite } from './helpers/prerequisites.js';

/** The guides in docs/, in reading order. Each is followed top to bottom; every command runs. */
const GUIDES = ['getting-started.md', 'server.md', 'client.md', 'http.md', 'job-controls.md', 'unique-jobs.md', 'topics.md', 'schedules.md', 'running-jobs.md', 'operations.md', 'remote-workers.md'];

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

/**
 * The getting-started guide's `topics`, by running its declaring block as a module (the block
 * as written, plus an export), so the check below uses the guide's schema, not a copy of it.
 */
async function gettingStartedTopics(): Promise<Topics> {
  const blocks = codeBlocks(await readFile('docs/getting-started.md', 'utf8'));
  const declaring = blocks.find((b) => b.lang === 'ts' && b.code.includes('defineTopics('));
  expect(declaring, 'the block of getting-started.md that declares the topics').toBeDefined();
  await mkdir('.tmp', { recursive: true });
  const dir = await mkdtemp(join('.tmp', 'topics-'));
  try {
    const file = join(dir, 'topics.ts');
    await writeFile(file, `${declaring!.code}export { topics };\n`);
    return ((await import(pathToFileURL(file).href)) as { topics: Topics }).topics;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the README and the guides agree', () => {
  it("the README's curl enqueue sends a payload the getting-started schema accepts, and shows it back", async () => {
    const blocks = codeBlocks(await readFile('README.md', 'utf8'));
    const index = blocks.findIndex((b) => b.lang === 'sh' && b.code.includes('/api/jobs/enqueue'));
    expect(index, 'the README block that enqueues with curl').toBeGreaterThanOrEqual(0);
    const sent = /-d '(\{"topic".*\})'/.exec(blocks[index]!.code);
    expect(sent, 'the body of the enqueue request').not.toBeNull();
    const body = JSON.parse(sent![1]!) as { topic: string; payload: unknown };
    const answer = blocks[index + 1]!;
    expect(answer.lang).toBe('json');
    expect((JSON.parse(answer.code) as { payload: unknown }).payload).toEqual(body.payload);

    const topics = await gettingStartedTopics();
    expect(topics.schemaOf(body.topic), `getting-started.md declares ${body.topic}`).toBeDefined();
    expect(topics.checkPayload(body.topic, body.payload)).toBeNull();
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
    const worker = 'jbw_q3Jx1pV0mG8cZs2YtK7wB4nE9dLr6hUaFiOe5TyWjXk';
    expect(jsonDifference({ token: worker }, { token: 'jbw_Zz0-_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' })).toBeNull();
    expect(jsonDifference({ token: worker }, { token: 'jbw_short' })).toMatch(/\$\.token/);
    expect(jsonDifference([1, 2], [1])).toMatch(/2 items/);
  });

  it('finds the shown lines in order, with … matching anything', () => {
    expect(missingLine('a\nb …\n', 'log\na\nlog\nb 42\n')).toBeNull();
    expect(missingLine('b\na\n', 'a\nb\n')).toBe('a');
  });
});
