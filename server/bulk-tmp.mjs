import { createJobs } from '@jobbase/server';
const jobs = await createJobs({ database: 'postgres://postgres@127.0.0.1:5432/bulkexp' });
const batch = (k) => Array.from({ length: 1000 }, (_, i) => ({ topic: 'bench', payload: { i: k * 1000 + i } }));
await jobs.enqueueMany(batch(0));
for (let r = 0; r < 3; r++) {
  const t = performance.now();
  for (let k = 0; k < 20; k++) await jobs.enqueueMany(batch(k));
  console.log('bulk jobs/s', Math.round(20000 / ((performance.now() - t) / 1000)));
}
await jobs.close();
