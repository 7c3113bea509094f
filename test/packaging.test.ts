import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/*
 * What a project gets at run time when it installs only `@jobbase/client` or only
 * `@jobbase/contract`: the contract is shapes, so zod and ts-rest and nothing more. OpenAPI
 * tooling lives in `@jobbase/openapi`, which only the server depends on; these tests keep it
 * (or anything else) from leaking back.
 *
 * Offline, in two ways: the closure walked the way npm installs it (dependencies and required
 * peers, never devDependencies) from the package.json files, which names the chain that pulls
 * a package in; and the real thing, the packed packages installed into an empty project.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

const ALLOWED = ['@jobbase/contract', '@ts-rest/core', 'zod'];

/** The workspace packages users install on their own, by folder. */
const USER_PACKAGES = ['contract', 'client'];

/** Every workspace package, each published to npm under its own name. */
const PUBLISHED = ['contract', 'openapi', 'client', 'server'];

const REPOSITORY = 'git+https://github.com/jobbase/jobbase.git';

interface Manifest {
  name: string;
  description?: string;
  keywords?: string[];
  license?: string;
  repository?: { type: string; url: string; directory?: string };
  workspaces?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

async function manifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Each workspace package's folder, by package name. */
async function workspaceDirs(): Promise<Map<string, string>> {
  const folders = (await manifest(root)).workspaces ?? [];
  const dirs = folders.map((folder) => join(root, folder));
  return new Map(await Promise.all(dirs.map(async (dir) => [(await manifest(dir)).name, dir] as const)));
}

/** Where Node finds an installed package from `fromDir`: the nearest node_modules up the tree. */
function installedDir(name: string, fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`${name} (needed by ${fromDir}) is not installed: run npm ci.`);
  }
}

/** What npm installs along with a package: its dependencies and its peers not marked optional. */
function runtimeDependencies(pkg: Manifest): string[] {
  const peers = Object.keys(pkg.peerDependencies ?? {}).filter((name) => !pkg.peerDependenciesMeta?.[name]?.optional);
  return [...Object.keys(pkg.dependencies ?? {}), ...peers];
}

/** Every package installed with a workspace package, each as the chain that pulls it in. */
async function runtimeClosure(folder: string): Promise<string[]> {
  const workspaces = await workspaceDirs();
  const start = join(root, folder);
  const chains = new Map<string, string>();
  const queue = [{ dir: start, chain: (await manifest(start)).name }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    for (const name of runtimeDependencies(await manifest(next.dir))) {
      if (chains.has(name)) continue;
      const chain = `${next.chain} → ${name}`;
      chains.set(name, chain);
      queue.push({ dir: workspaces.get(name) ?? installedDir(name, next.dir), chain });
    }
  }
  return [...chains.values()];
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; a Node built-in keeps its `node:` form. */
function packageOf(specifier: string): string {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!)) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/**
 * Every package a workspace package's source imports (type-only imports included: they end up
 * in the published .d.ts files), each with the file that imports it.
 */
async function importedPackages(folder: string): Promise<{ pkg: string; file: string }[]> {
  const found: { pkg: string; file: string }[] = [];
  for (const file of await sourceFiles(join(root, folder, 'src'))) {
    const { importedFiles } = ts.preProcessFile(await readFile(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith('.')) continue;
      found.push({ pkg: packageOf(fileName), file: relative(root, file) });
    }
  }
  return found;
}

/**
 * npm with a cache of its own in `dir` and `--offline`: it reads neither the machine's cache nor
 * the network, so it can install only the tarballs it is given.
 */
function npm(dir: string, args: string[]) {
  const isolated = ['--offline', '--cache', join(dir, '.npm-cache'), '--no-audit', '--no-fund', '--ignore-scripts'];
  return run('npm', [...args, ...isolated], { cwd: dir });
}

interface NpmTree {
  dependencies?: Record<string, NpmTree & { version?: string }>;
}

/** Every package `npm ls --json` shows installed, at any depth (an optional peer left out has no version). */
function installedNames(tree: NpmTree): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, node]) =>
    node.version ? [name, ...installedNames(node)] : [],
  );
}

/**
 * A project that depends on the packed client alone; overrides point every allowed package at
 * its tarball (zod and ts-rest packed from node_modules), so a dependency outside them fails the
 * install as "not cached", naming it.
 */
async function installClientAlone(dir: string): Promise<void> {
  const externals = ['zod', '@ts-rest/core'].map((name) => installedDir(name, root));
  const folders = [join(root, 'client'), join(root, 'contract'), ...externals];
  const { stdout } = await npm(dir, ['pack', ...folders, '--pack-destination', dir, '--json']);
  const packed = JSON.parse(stdout) as { name: string; filename: string }[];
  const tarball = (name: string) => `file:./${packed.find((p) => p.name === name)!.filename}`;
  const project = {
    name: 'user-app',
    private: true,
    type: 'module',
    dependencies: { '@jobbase/client': tarball('@jobbase/client') },
    overrides: Object.fromEntries(ALLOWED.map((name) => [name, tarball(name)])),
  };
  await writeFile(join(dir, 'package.json'), JSON.stringify(project));
  await npm(dir, ['install']);
}

describe('what @jobbase/contract and @jobbase/client install', () => {
  it.each(USER_PACKAGES)('%s/ pulls in only zod and @ts-rest/core (and the contract) at run time', async (folder) => {
    const closure = await runtimeClosure(folder);
    const unexpected = closure.filter((chain) => !ALLOWED.includes(chain.split(' → ').at(-1)!));
    const why = `only ${ALLOWED.join(', ')} may be installed with ${folder}/; OpenAPI tooling belongs in openapi/`;
    expect(unexpected, why).toEqual([]);
  });

  it.each(USER_PACKAGES)('%s/ imports only the packages it depends on, and no Node built-in', async (folder) => {
    const declared = Object.keys((await manifest(join(root, folder))).dependencies ?? {});
    const undeclared = (await importedPackages(folder)).filter(({ pkg }) => !declared.includes(pkg));
    // Without this, an import of a package hoisted into the workspace's node_modules would work
    // here and fail for a user, or drag a package in that the closure above never sees.
    expect(undeclared, `${folder}/package.json declares ${declared.join(', ')}`).toEqual([]);
  });

  it('the walk sees the dependencies it guards against', async () => {
    // The server legitimately serves the document: its closure must show the tooling, or the
    // checks above would pass vacuously.
    const server = (await runtimeClosure('server')).map((chain) => chain.split(' → ').at(-1));
    expect(server).toEqual(expect.arrayContaining(['@jobbase/openapi', 'openapi3-ts', 'zod-to-json-schema']));
  });

  // Packs client/dist and contract/dist, so it needs the build (`npm test` builds first).
  it('installing only the packed client brings zod and ts-rest, and the client loads', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-install-'));
    try {
      await installClientAlone(dir);
      const tree = JSON.parse((await npm(dir, ['ls', '--omit=dev', '--all', '--json'])).stdout) as NpmTree;
      expect(new Set(installedNames(tree))).toEqual(new Set(['@jobbase/client', ...ALLOWED]));
      const script = "const client = await import('@jobbase/client'); console.log(typeof client.createJobsClient);";
      const loaded = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
      expect(loaded.stdout.trim()).toBe('function');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface PackedFile {
  path: string;
}

/** What `npm pack` would put in each package's tarball, by folder, without writing one. */
async function packedFiles(folders: string[]): Promise<Map<string, string[]>> {
  const args = ['pack', '--dry-run', '--json', '--ignore-scripts', ...folders.map((folder) => join(root, folder))];
  const packed = JSON.parse((await run('npm', args, { cwd: root })).stdout) as { files: PackedFile[] }[];
  return new Map(folders.map((folder, i) => [folder, packed[i]!.files.map((file) => file.path)]));
}

/** Sources, tests and build state: none of it is for the people who install a package. */
const NOT_FOR_USERS = /(^|\/)(src|test|tests|__tests__|fixtures)\/|\.(test|spec)\.|tsconfig|\.tsbuildinfo$/;

describe('what npm shows of each published package', () => {
  it.each(PUBLISHED)('%s/package.json says what it is, under which license, and where its source lives', async (folder) => {
    const pkg = await manifest(join(root, folder));
    expect(pkg.description, 'description').toMatch(/\w{3,}/);
    expect(pkg.keywords, 'keywords').toEqual(expect.arrayContaining(['jobbase', 'job-queue']));
    expect(pkg.license).toBe('MIT');
    // `directory` sends npm's "Repository" link to the package's folder, not the monorepo's root.
    expect(pkg.repository).toEqual({ type: 'git', url: REPOSITORY, directory: folder });
  });

  it.each(PUBLISHED)('%s/ carries the root LICENSE, word for word', async (folder) => {
    const license = await readFile(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} Jobbase contributors\n/);
    // npm packs a LICENSE from the package's own folder only, never from the repository's root.
    expect(await readFile(join(root, folder, 'LICENSE'), 'utf8')).toBe(license);
  });

  it.each(PUBLISHED)('%s/README.md names the package and how to install it', async (folder) => {
    const { name } = await manifest(join(root, folder));
    const readme = await readFile(join(root, folder, 'README.md'), 'utf8');
    expect(readme.startsWith(`# ${name}\n`), 'the first line is the package name as a heading').toBe(true);
    expect(readme).toContain(`npm install ${name}`);
    // npmjs.com does not resolve a link relative to a package's folder: the docs are linked in full.
    expect(readme).toMatch(/https:\/\/github\.com\/jobbase\/jobbase\/blob\/main\/docs\/\S+\.md/);
    expect(readme).not.toMatch(/\]\((?!https:|#)/);
  });

  // Lists what `npm pack` takes from dist/, so it needs the build (`npm test` builds first).
  it('the tarballs hold the built code, the README and the LICENSE, and no sources, tests or build state', async () => {
    for (const [folder, files] of await packedFiles(PUBLISHED)) {
      expect(files, folder).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']));
      expect(files.filter((file) => NOT_FOR_USERS.test(file)), folder).toEqual([]);
      const outside = files.filter((file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(file));
      // The server's bin is a committed file, so npm can link it before anything is built.
      expect(outside, folder).toEqual(folder === 'server' ? ['bin/jobbase.js'] : []);
    }
  });
});
