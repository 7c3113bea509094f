// The one-line progress summary of a measurement.
import { ms } from './format.mjs';

const round = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

export function headline(kind, v) {
  switch (kind) {
    case 'enqueue':
      return v.unsupported ? 'no bulk API' : `${round(v.jobsPerSecond)} jobs/s`;
    case 'drain':
      if (v.startedNone) return `started no job (${v.completed} completed)`;
      return `${round(v.jobsPerSecond)} jobs/s${v.capped ? ` (capped, ${v.completed} done)` : ''}, timer gap ${round(v.timerMaxGapMs)} ms, ${round(v.peakRssMb)} MB`;
    case 'latency':
      if (v.startedNone) return `started none of the jobs`;
      return `p50 ${ms(v.p50 ?? Infinity)} p99 ${ms(v.p99 ?? Infinity)} max ${ms(v.max ?? Infinity)} ms${v.missing ? `, ${v.missing} never started` : ''}`;
    case 'depth':
      if (v.startedNone) return `claim p50 ${round(v.claimP50Ms, 2)} ms, drain: started no job`;
      return `claim p50 ${round(v.claimP50Ms, 2)} ms, drain ${round(v.drainJobsPerSecond)} jobs/s (fill ${round(v.fillSeconds, 1)} s)`;
    case 'http-enqueue':
      return `${round(v.requestsPerSecond)} req/s, p99 ${round(v.p99Ms)} ms, non-2xx ${v.non2xx}`;
    case 'memory':
      return `import +${round(v.importMb, 1)} MB, opened +${round(v.openMb, 1)} MB`;
    case 'remote-drain':
      return `${round(v.jobsPerSecond)} jobs/s (${v.variant})${v.capped ? ` (capped, ${v.completed} done)` : ''}`;
    case 'insert-limit':
      return `${round(v.insertsPerSecond)} inserts/s`;
    default:
      return JSON.stringify(v);
  }
}
