// Child-process entry: receives { kind, params } over IPC, runs measure/<kind>.mjs, sends the
// result back and exits (even if the queue under test left a handle open).
const KINDS = new Set(['enqueue', 'drain', 'latency', 'latency-enqueuer', 'depth', 'http-enqueue', 'http-load', 'insert-limit', 'memory', 'remote-drain']);

process.once('message', async ({ kind, params }) => {
  let reply;
  try {
    if (!KINDS.has(kind)) throw new Error(`unknown measurement "${kind}"`);
    const { run } = await import(`./${kind}.mjs`);
    reply = { ok: true, result: await run(params) };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? `${err.message}` : String(err) };
  }
  process.send(reply, () => process.exit(0));
});
