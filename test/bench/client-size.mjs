// node test/bench/client-size.mjs [--from=DIR] [--json]
//
// What @jobbase/client adds to an application's bundle: an entry importing it, bundled and
// minified by esbuild for the browser and for Node, then gzipped, and which packages the bytes
// come from (esbuild's metafile). docs/client.md quotes the figures; test/sdk-install.test.ts
// measures the installed tarballs with --from and holds the docs to within 10%.
//
// --from: the project whose node_modules holds @jobbase/client; by default this repository,
// where it is the workspace's build (run `npm run build` first).
// --json: the figures as JSON, without esbuild's per-file breakdown.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { analyzeMetafile, build, version } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a caller typically imports: the client factory and its error class. */
const ENTRY = "export { createJobsClient, JobsApiError } from '@jobbase/client';\n";
const ENTRY_FILE = 'entry.js';

const PLATFORMS = ['browser', 'node'];

function parseArgs(argv) {
  const from = argv.find((arg) => arg.startsWith('--from='))?.slice('--from='.length);
  return { from: resolve(from ?? ROOT), json: argv.includes('--json') };
}

/** The name in the nearest package.json above `file`: the package a bundled file belongs to. */
function packageOf(file) {
  for (let dir = dirname(file); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { name } = JSON.parse(readFileSync(manifest, 'utf8'));
    if (name) return name;
  }
  return file;
}

/** Bytes each package contributes to the minified output, largest first. */
function bytesByPackage(metafile, from) {
  const totals = new Map();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (input === ENTRY_FILE) continue;
      const name = packageOf(resolve(from, input));
      totals.set(name, (totals.get(name) ?? 0) + bytesInOutput);
    }
  }
  return Object.fromEntries([...totals].sort((a, b) => b[1] - a[1]));
}

async function measure(platform, from) {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: from, sourcefile: ENTRY_FILE },
    absWorkingDir: from,
    bundle: true,
    minify: true,
    format: 'esm',
    platform,
    write: false,
    metafile: true,
    outfile: 'bundle.js',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return {
    minified: code.byteLength,
    gzipped: gzipSync(code).byteLength,
    packages: bytesByPackage(result.metafile, from),
    analysis: await analyzeMetafile(result.metafile),
  };
}

const kB = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

function printReport(results) {
  console.log(`@jobbase/client bundled by esbuild ${version} (--bundle --minify --format=esm), gzip at zlib's default level`);
  for (const [platform, { minified, gzipped }] of Object.entries(results)) {
    console.log(`${platform.padEnd(8)} ${kB(minified)} minified, ${kB(gzipped)} gzipped`);
  }
  const { minified, packages, analysis } = results.browser;
  console.log('\nBy package (browser):');
  for (const [name, bytes] of Object.entries(packages)) {
    console.log(`  ${name.padEnd(20)} ${kB(bytes).padStart(9)}  ${Math.round((bytes / minified) * 100)}%`);
  }
  console.log(analysis);
}

const args = parseArgs(process.argv.slice(2));
const results = {};
for (const platform of PLATFORMS) results[platform] = await measure(platform, args.from);
if (args.json) {
  const figures = Object.fromEntries(Object.entries(results).map(([p, { analysis, ...rest }]) => [p, rest]));
  console.log(JSON.stringify({ esbuild: version, ...figures }, null, 2));
} else {
  printReport(results);
}
