#!/usr/bin/env node
// npm's `jobbase` bin. npm links a bin when it installs, and skips one whose file does not exist
// yet, which in a clone is the case for everything tsc builds: so the bin is this committed
// file, and it starts the CLI the build leaves in dist/.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('jobbase: the server is not built yet: run `npm run build` at the root of the clone.');
  process.exit(1);
}
await import(cli.href);
