import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppFixture, EMAIL, PASSWORD, type RunningApp } from './helpers/app.js';

/*
 * @jobbase/client as another service installs it: the packed tarballs (the client and the
 * workspace packages it depends on) installed into a fresh project outside the repository, so
 * nothing resolves through the workspace. That project type-checks against the installed types
 * under Node's and a bundler's module resolution, and calls a running server from an ES module
 * and from CommonJS. A failed pack or install fails every test here, with npm's output.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = join(root, 'test/fixtures/sdk-consumer');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Manifest {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

async function manifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** A command's stdout; when it fails, an error carrying everything it printed. */
async function output(file: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run(file, args, { cwd, env: { ...process.env, ...env } })).stdout;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`\`${[file, ...args].join(' ')}\` failed in ${cwd}:\n${stdout}${stderr}`);
  }
}

/** @jobbase/client's folder and those of the workspace packages it needs at run time. */
async function clientFolders(): Promise<string[]> {
  const dirs = await Promise.all(((await manifest(root)).workspaces ?? []).map((folder) => join(root, folder)));
  const byName = new Map(await Promise.all(dirs.map(async (dir) => [(await manifest(dir)).name, dir] as const)));
  const folders = [byName.get('@jobbase/client')!];
  for (const dir of folders) {
    for (const name of Object.keys((await manifest(dir)).dependencies ?? {})) {
      const workspace = byName.get(name);
      if (workspace && !folders.includes(workspace)) folders.push(workspace);
    }
  }
  return folders;
}

/**
 * Makes `dir`, an empty folder outside the repository, a project that depends on the packed
 * client, on zod (to declare topics) and on @types/node, at the versions the repository uses,
 * all from npm's cache when it has them, and copies the consumer's files in. Overrides point the
 * client's workspace dependencies at their tarballs, as the registry would serve them.
 */
async function installPackedClient(dir: string): Promise<void> {
  expect(relative(root, dir).startsWith('..'), `${dir} must be outside the repository`).toBe(true);
  const folders = await clientFolders();
  const packed = JSON.parse(await output('npm', ['pack', ...folders, '--pack-destination', dir, '--json', '--ignore-scripts'], dir)) as {
    name: string;
    filename: string;
    files: { path: string }[];
  }[];
  for (const { name, files } of packed) {
    expect(files.map((f) => f.path), `${name} is packed without its build: run npm run build`).toContain('dist/index.js');
  }
  const tarball = (name: string) => `file:./${packed.find((p) => p.name === name)!.filename}`;
  const versions = { ...(await manifest(join(root, 'contract'))).dependencies, ...(await manifest(root)).devDependencies };
  const project = {
    name: 'consumer',
    private: true,
    type: 'module',
    dependencies: { '@jobbase/client': tarball('@jobbase/client'), zod: versions.zod },
    devDependencies: { '@types/node': versions['@types/node'] },
    overrides: Object.fromEntries(packed.filter((p) => p.name !== '@jobbase/client').map((p) => [p.name, tarball(p.name)])),
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(project, null, 2));
  await output('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir);
  await cp(fixtures, dir, { recursive: true });
}

/**
 * A Node service (Node's resolution and types, no DOM), the same on nodenext (where TypeScript
 * knows that require() loads an ES module, so CommonJS may import the client statically), and a
 * browser app built by a bundler (the DOM's types). Strict, and checking the installed .d.ts
 * files too: a type error in what we publish fails here even when the consumer's code is fine.
 */
const SETTINGS = {
  node16: {
    options: { module: 'node16', moduleResolution: 'node16', lib: ['ES2022'], types: ['node'] },
    files: ['typed-calls.ts', 'typed-calls-import.cts'],
  },
  nodenext: {
    options: { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'], types: ['node'] },
    files: ['typed-calls.ts', 'typed-calls-require.cts'],
  },
  bundler: {
    options: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [] },
    files: ['typed-calls.ts'],
  },
};

interface RoundTrip {
  enqueued: { id: string; topic: string; payload: unknown; status: string };
  fetched: { id: string; topic: string; payload: unknown; status: string };
}

/** The sizes docs/client.md gives, in bytes, by platform. */
function documentedSizes(markdown: string): Map<string, { minified: number; gzipped: number }> {
  const rows = [...markdown.matchAll(/^\| (browser|node) \| ([\d.]+) kB \| ([\d.]+) kB \|$/gm)];
  return new Map(rows.map(([, platform, minified, gzipped]) => [platform!, { minified: Number(minified) * 1000, gzipped: Number(gzipped) * 1000 }]));
}

describe('@jobbase/client installed from its tarballs in a project of its own', () => {
  const fx = new AppFixture('sqlite');
  let consumer: string;
  let running: RunningApp;

  beforeAll(async () => {
    consumer = await mkdtemp(join(tmpdir(), 'jobbase-consumer-'));
    await installPackedClient(consumer);
    await fx.setup();
    running = await fx.startSignedIn();
  }, 300_000);

  afterAll(async () => {
    await fx.teardown();
    if (consumer) await rm(consumer, { recursive: true, force: true });
  });

  it.each(Object.entries(SETTINGS))('type-checks with its types under %s resolution', { timeout: 120_000 }, async (name, { options, files }) => {
    const config = { compilerOptions: { ...options, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false }, files };
    await writeFile(join(consumer, `tsconfig.${name}.json`), JSON.stringify(config, null, 2));
    await output(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], consumer);
  });

  /** Runs a fixture script against the test server; the job it enqueued and read back. */
  async function roundTrip(script: string, nodeFlags: string[] = []): Promise<RoundTrip> {
    const env = { JOBBASE_URL: running.url, JOBBASE_EMAIL: EMAIL, JOBBASE_PASSWORD: PASSWORD };
    return JSON.parse(await output(process.execPath, [...nodeFlags, script], consumer, env)) as RoundTrip;
  }

  async function expectRoundTrip({ enqueued, fetched }: RoundTrip, topic: string, payload: unknown): Promise<void> {
    expect(enqueued).toMatchObject({ topic, payload, status: 'pending', enqueued: 'created' });
    // The job as read back is the job as enqueued, without the enqueue's `enqueued`.
    const { enqueued: _outcome, ...stored } = enqueued as typeof enqueued & { enqueued?: string };
    expect(fetched).toEqual(stored);
    expect((await running.app.jobs.get(enqueued.id)).topic).toBe(topic);
  }

  it('an ES module signs in, enqueues a job and gets it back', async () => {
    await expectRoundTrip(await roundTrip('round-trip.js'), 'from_esm', { via: 'import' });
  });

  it('CommonJS does the same with require()', async () => {
    await expectRoundTrip(await roundTrip('round-trip-require.cjs'), 'from_require', { via: 'require' });
  });

  it('CommonJS does the same with await import() where require() cannot load an ES module', async () => {
    // Node 20 before 20.19 has no require(esm); the flag turns it off here to stand in for it.
    const withoutRequireEsm = ['--no-experimental-require-module'];
    await expect(roundTrip('round-trip-require.cjs', withoutRequireEsm)).rejects.toThrow(/ERR_REQUIRE_ESM/);
    await expectRoundTrip(await roundTrip('round-trip-import.cjs', withoutRequireEsm), 'from_import', { via: 'import()' });
  });

  it('bundles to within 10% of the sizes docs/client.md gives', { timeout: 120_000 }, async () => {
    const documented = documentedSizes(await readFile(join(root, 'docs/client.md'), 'utf8'));
    const script = join(root, 'test/bench/client-size.mjs');
    const measured = JSON.parse(await output(process.execPath, [script, '--json', `--from=${consumer}`], root)) as Record<
      string,
      { minified: number; gzipped: number }
    >;
    expect([...documented.keys()], 'docs/client.md has a row per platform').toEqual(['browser', 'node']);
    for (const [platform, sizes] of documented) {
      const now = measured[platform]!;
      const why = `${platform}: docs/client.md says ${JSON.stringify(sizes)}, measured ${JSON.stringify(now)}; update the table from \`node test/bench/client-size.mjs\``;
      expect(Math.abs(now.minified / sizes.minified - 1), why).toBeLessThanOrEqual(0.1);
      expect(Math.abs(now.gzipped / sizes.gzipped - 1), why).toBeLessThanOrEqual(0.1);
    }
  });
});
