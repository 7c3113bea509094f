// D. HTTP: Jobbase's server (createApp, no workers) on 127.0.0.1, a superuser's token, and a
// load generator in another process posting POST /api/jobs/enqueue for a fixed time.
import { runChild } from '../lib/child.mjs';
import { loadJobbase } from '../lib/jobbase-server.mjs';
import { peakRssMb } from '../lib/process-probes.mjs';

const EMAIL = 'bench@example.com';
const PASSWORD = 'bench-password-1';

export async function run({ database, seconds, connections, childTimeoutMs }) {
  const jb = await loadJobbase();
  const app = await jb.createApp({ database: database.url });
  try {
    await jb.upsertSuperuser(app.jobs.store, EMAIL, PASSWORD);
    const server = await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${server.port}`;
    const login = await fetch(`${base}/api/collections/_superusers/auth-with-password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: EMAIL, password: PASSWORD }),
    });
    if (!login.ok) throw new Error(`login answered ${login.status}`);
    const { token } = await login.json();

    const load = await runChild('http-load', { url: `${base}/api/jobs/enqueue`, token, seconds, connections }, { timeoutMs: childTimeoutMs });
    const stats = await app.jobs.stats();
    return {
      ...load,
      stored: stats.total,
      peakRssMb: peakRssMb(),
      settings: {
        server: 'createApp defaults, no workers, log level warn',
        load: `autocannon in another process, ${connections} connections, ${seconds} s, pipelining 1`,
      },
    };
  } finally {
    await app.close();
  }
}
