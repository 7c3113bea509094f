// How big each scenario is. Quick proves the harness end to end in a few minutes; full is the
// run docs/benchmarks.md should hold. Every loop in the harness is bounded by these numbers.

export const MODES = {
  quick: {
    name: 'quick',
    repeats: 2,
    enqueueJobs: 1_000,
    drainJobs: 2_000,
    drainConcurrency: [10, 50],
    /** A drain that has not finished by then stops and reports the rate it reached. */
    drainCapMs: 10_000,
    latencyJobs: 100,
    latencyGapMs: 10,
    depths: [1_000, 100_000],
    depthDrainJobs: 1_000,
    claimProbes: 50,
    httpSeconds: 4,
    httpConnections: 10,
    limitSeconds: 2,
    /** A measurement child that runs longer than this is killed and reported as an error. */
    childTimeoutMs: 120_000,
  },
  full: {
    name: 'full',
    repeats: 3,
    enqueueJobs: 20_000,
    drainJobs: 20_000,
    drainConcurrency: [10, 50],
    drainCapMs: 60_000,
    latencyJobs: 500,
    latencyGapMs: 10,
    depths: [1_000, 1_000_000],
    depthDrainJobs: 5_000,
    claimProbes: 200,
    httpSeconds: 15,
    httpConnections: 10,
    limitSeconds: 5,
    childTimeoutMs: 900_000,
  },
};
