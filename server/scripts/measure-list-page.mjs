// Measures GET /api/jobs on 500 jobs of ~64 KiB each (32 MB of payloads) on SQLite: with payloads
// (identity, gzip, brotli) and as the admin UI lists them (?fields= without payload). Run from the
// clone after `npm run build`: `JOBBASE_LOG_LEVEL=silent node server/scripts/measure-list-page.mjs`.
// docs/operations.md has the figures.
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, upsertSuperuser } from '@jobbase/server';

const dir = mkdtempSync(join(tmpdir(), 'measure-'));
const app = await createApp({ database: `sqlite:${join(dir, 'data.db')}`, maxListPayloadSize: 64 * 1024 * 1024, logger: undefined });
await upsertSuperuser(app.jobs.store, 'a@b.c', 'a long password');
const server = await app.listen({ port: 0 });
const base = `http://127.0.0.1:${server.port}`;
const token = (await (await fetch(`${base}/api/collections/_superusers/auth-with-password`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity: 'a@b.c', password: 'a long password' }) })).json()).token;
// ~64 KiB of JSON per job: an order with 740 lines of varied text and numbers.
const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const payload = (j) => ({ order: j, lines: Array.from({ length: 740 }, (_, i) => ({ sku: `SKU-${(j * 7919 + i * 104729) % 1000003}`, name: `${words[(i * j) % 12]} ${words[(i + j) % 12]} ${i}`, qty: (i * 31 + j) % 17, price: ((i * 97 + j * 13) % 10000) / 100, note: Math.random().toString(36).slice(2, 12) })) });
for (let b = 0; b < 5; b++) await app.jobs.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ topic: 'big', payload: payload(b * 100 + i) })));
function get(path, encoding) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    request(`${base}${path}`, { headers: { authorization: token, ...(encoding ? { 'accept-encoding': encoding } : {}) } }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, ms: performance.now() - started, enc: res.headers['content-encoding'] ?? 'none' }));
    }).on('error', reject).end();
  });
}
const fields = 'id,topic,status,run_at,retries,max_retries,last_error,priority,snoozes,unique_key,unique_states,created,updated';
for (const [label, path, enc] of [
  ['500 jobs with payloads, identity', '/api/jobs?limit=500', undefined],
  ['500 jobs with payloads, gzip', '/api/jobs?limit=500', 'gzip'],
  ['500 jobs with payloads, br', '/api/jobs?limit=500', 'br'],
  ['500 jobs, admin fields, identity', `/api/jobs?limit=500&fields=${fields}`, undefined],
  ['500 jobs, admin fields, gzip', `/api/jobs?limit=500&fields=${fields}`, 'gzip'],
  ['20 jobs, admin fields (the admin page), gzip', `/api/jobs?limit=20&fields=${fields}`, 'gzip'],
]) {
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await get(path, enc));
  runs.sort((a, b) => a.ms - b.ms);
  const r = runs[2];
  console.log(`${label}: ${r.status} ${r.enc} ${(r.bytes / 1024).toFixed(1)} KiB, median ${r.ms.toFixed(1)} ms`);
}
await app.close();
