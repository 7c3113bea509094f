/**
 * Writes the OpenAPI document to the file named on the command line (the root script
 * `npm run openapi` passes docs/openapi.json). Checked in so readers and generators need no build;
 * a test fails when it no longer matches the contract.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { serializeOpenApiDocument } from './document.js';

const target = process.argv[2];
if (!target) {
  console.error('Usage: node openapi/dist/cli.js <output.json>');
  process.exit(2);
}
const file = resolve(target);
await mkdir(dirname(file), { recursive: true });
await writeFile(file, serializeOpenApiDocument());
console.log(`Wrote ${file}`);
