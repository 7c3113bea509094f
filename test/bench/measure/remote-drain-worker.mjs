// One remote worker process of measure/remote-drain.mjs: no-op handlers, run until killed.
const { baseUrl, token, client, concurrency, prefetch } = JSON.parse(process.argv[2]);
const { createRemoteWorker } = await import(client);
createRemoteWorker({ baseUrl, token, concurrency, prefetch, wait: 5_000, handlers: { bench: () => undefined } });
process.send('ready');
