import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of server/src, checked from the import statements themselves (STYLE.md: arrows only
 * point down). `store/` is persistence and knows nothing above it; MikroORM and SQL stay inside it.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../server/src');

interface SourceFile {
  /** Path under server/src, with forward slashes. */
  path: string;
  text: string;
  /** Every module specifier it imports or re-exports, static or dynamic. */
  imports: string[];
  /** The specifiers loaded with the file itself: static imports and re-exports of values (not `import type`, not `import()`). */
  staticImports: string[];
}

function sourceFiles(root = SRC, dir = root): SourceFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(root, full);
    if (!/\.(ts|mjs)$/.test(entry.name)) return [];
    const text = readFileSync(full, 'utf8');
    const imports = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    const staticImports = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^;'"]*?\bfrom\s*)?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    return [{ path: relative(root, full).split('\\').join('/'), text, imports, staticImports }];
  });
}

/** A relative specifier as a path under server/src (`../engine/jobs.js` from `store/x.ts` → `engine/jobs.js`). */
function target(file: SourceFile, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return relative(SRC, resolve(SRC, dirname(file.path), specifier)).split('\\').join('/');
}

const files = sourceFiles();
const inStore = (path: string) => path.startsWith('store/');

describe('server/src layers', () => {
  it('finds the sources it checks', () => {
    expect(files.filter((f) => inStore(f.path)).length).toBeGreaterThan(5);
    expect(files.filter((f) => !inStore(f.path)).length).toBeGreaterThan(20);
  });

  it('store/ imports nothing from engine/ or http/ (or anything else above it)', () => {
    const upward = files
      .filter((f) => inStore(f.path))
      .flatMap((f) => f.imports.map((s) => [f.path, target(f, s)] as const))
      .filter(([, to]) => to !== null && (/^(engine|http|auth)\//.test(to) || ['app.js', 'cli.js', 'index.js'].includes(to)))
      .map(([from, to]) => `${from} → ${to}`);
    expect(upward).toEqual([]);
  });

  it('nothing outside store/ imports MikroORM, knex or a database driver', () => {
    const leaks = files
      .filter((f) => !inStore(f.path))
      .flatMap((f) => f.imports.filter((s) => /^(@mikro-orm\/|knex$|pg$|sqlite3$|better-sqlite3$)/.test(s)).map((s) => `${f.path} → ${s}`));
    expect(leaks).toEqual([]);
  });

  it('nothing outside store/ reaches for an ORM handle or store internals', () => {
    const leaks = files
      .filter((f) => !inStore(f.path))
      .flatMap((f) => f.imports.map((s) => [f.path, s, target(f, s)] as const))
      .filter(([, , to]) => to !== null && inStore(to) && !/^store\/(types|open)\.js$/.test(to))
      .map(([from, s]) => `${from} → ${s}`);
    const ormNames = files.filter((f) => !inStore(f.path) && /\.orm\b|\bMikroORM\b|\bgetKnex\b/.test(f.text)).map((f) => f.path);
    expect({ imports: leaks, ormNames }).toEqual({ imports: [], ormNames: [] });
  });

  it('the tests reach the database through @jobbase/server/testing, never through an ORM', () => {
    const testsDir = resolve(SRC, '../../test');
    const offenders = sourceFiles(testsDir)
      .filter((f) => !f.path.startsWith('bench/') && !f.path.startsWith('generated/') && f.path !== 'architecture.test.ts')
      .filter((f) => /\.orm\b/.test(f.text) || f.imports.some((s) => s.startsWith('@mikro-orm/')))
      .map((f) => f.path);
    expect(offenders).toEqual([]);
  });

  it('http/ speaks engine types: it imports nothing from store/', () => {
    const direct = files
      .filter((f) => f.path.startsWith('http/'))
      .flatMap((f) => f.imports.map((s) => [f.path, target(f, s)] as const))
      .filter(([, to]) => to !== null && inStore(to))
      .map(([from, to]) => `${from} → ${to}`);
    expect(direct).toEqual([]);
  });

  it('the entry point loads the HTTP server and each dialect\'s store only when asked (import())', () => {
    // What `import '@jobbase/server'` loads with itself: an embedded engine pays for no HTTP code
    // (express, helmet, jose, the docs assets) and for one driver (test/loaded-packages.test.ts runs it).
    const byPath = new Map(files.map((f) => [f.path, f]));
    const loaded = new Set<string>();
    const visit = (path: string) => {
      if (loaded.has(path) || !byPath.has(path)) return;
      loaded.add(path);
      const file = byPath.get(path)!;
      for (const s of file.staticImports) {
        const to = target(file, s);
        if (to) visit(to.replace(/\.js$/, '.ts'));
      }
    };
    visit('index.ts');
    expect(loaded.has('engine/jobs.ts')).toBe(true);
    expect([...loaded].filter((path) => /^(http\/|app\.ts$|cli|auth\/tokens\.ts$|store\/(sqlite|postgres)\/)/.test(path))).toEqual([]);
  });
});
