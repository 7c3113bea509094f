// Which measurements a run makes: every scenario × system × variant, each to be repeated.
import { systemById, systemsIn } from '../adapters/queue-adapter.mjs';

/** Enqueueing does not depend on worker settings: one entry per queue and dialect (a peer's
 * tuned variants share its enqueue figures). */
export const ENQUEUE_SYSTEMS = ['jobbase-sqlite', 'jobbase-postgres', 'graphile-worker', 'pg-boss', 'plainjob'];
/** Depth: each queue in its throughput configuration. */
export const DEPTH_SYSTEMS = ['jobbase-sqlite', 'jobbase-postgres', 'graphile-worker-batched', 'pg-boss-tuned', 'plainjob'];
/** Depth with a backlog of mixed priorities (issue 14): Jobbase's claim must stay an index walk. */
export const PRIORITY_DEPTH_SYSTEMS = ['jobbase-sqlite', 'jobbase-postgres'];
export const SCENARIOS = {
  A: 'throughput',
  B: 'latency',
  C: 'depth',
  D: 'HTTP',
  E: 'machine limit',
  F: 'memory',
  G: 'remote workers',
};

/**
 * @param {object} mode        from lib/modes.mjs
 * @param {{ synchronous: 'NORMAL'|'FULL', scenarios: Set<string>, systems: Set<string> | null }} filter
 */
export function buildPlan(mode, { synchronous, scenarios, systems }) {
  const cases = [];
  const wanted = (systemId) => !systems || systems.has(systemId);
  const add = (scenario, kind, systemId, dialect, key, params) => {
    if (!scenarios.has(scenario) || (systemId && !wanted(systemId))) return;
    cases.push({ scenario, kind, system: systemId, dialect: systemId ? systemById(systemId).dialect : dialect, key, params });
  };
  const timeouts = { childTimeoutMs: mode.childTimeoutMs };

  // The machine's limit runs first, right before the enqueue runs that are read as a fraction of it.
  for (const dialect of ['sqlite', 'postgres']) {
    add('E', 'insert-limit', null, dialect, `limit:${dialect}`, { seconds: mode.limitSeconds, synchronous });
  }
  for (const id of ENQUEUE_SYSTEMS) {
    for (const bulk of [false, true]) {
      add('A', 'enqueue', id, null, `enqueue:${id}:${bulk ? 'bulk' : 'one'}`, { jobs: mode.enqueueJobs, bulk });
    }
  }
  for (const { id } of systemsIn('A')) {
    for (const concurrency of mode.drainConcurrency) {
      add('A', 'drain', id, null, `drain:${id}:${concurrency}`, {
        jobs: mode.drainJobs,
        concurrency,
        capMs: mode.drainCapMs,
        synchronous,
      });
    }
  }
  for (const { id } of systemsIn('B')) {
    for (const crossProcess of [false, true]) {
      add('B', 'latency', id, null, `latency:${id}:${crossProcess ? 'other' : 'same'}`, {
        jobs: mode.latencyJobs,
        gapMs: mode.latencyGapMs,
        concurrency: 10,
        crossProcess,
        ...timeouts,
      });
    }
  }
  for (const id of DEPTH_SYSTEMS) {
    for (const depth of mode.depths) {
      add('C', 'depth', id, null, `depth:${id}:${depth}`, {
        depth,
        drainJobs: mode.depthDrainJobs,
        claimProbes: mode.claimProbes,
        capMs: mode.drainCapMs,
      });
    }
  }
  for (const id of PRIORITY_DEPTH_SYSTEMS) {
    for (const depth of mode.depths) {
      add('C', 'depth', id, null, `depth-priority:${id}:${depth}`, {
        depth,
        drainJobs: mode.depthDrainJobs,
        claimProbes: mode.claimProbes,
        capMs: mode.drainCapMs,
        mixedPriorities: true,
      });
    }
  }
  // What a queue's import and an idle queue add to a process: one entry per queue and dialect.
  for (const id of ENQUEUE_SYSTEMS) {
    add('F', 'memory', id, null, `memory:${id}`, {});
  }
  for (const dialect of ['sqlite', 'postgres']) {
    add('D', 'http-enqueue', null, dialect, `http:${dialect}`, {
      seconds: mode.httpSeconds,
      connections: mode.httpConnections,
      ...timeouts,
    });
  }
  // Remote workers over HTTP (issue 19) against one embedded worker, each on a fresh database.
  for (const dialect of ['sqlite', 'postgres']) {
    for (const variant of ['remote', 'remote-prefetch', 'embedded']) {
      add('G', 'remote-drain', null, dialect, `remote:${dialect}:${variant}`, { jobs: mode.drainJobs, variant, capMs: mode.drainCapMs });
    }
  }
  return cases;
}
