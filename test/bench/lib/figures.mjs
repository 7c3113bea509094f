// Reading one figure out of a run's results: the median over the repeats, or why there is none.
//
// A figure is only as good as every one of its repeats: when a repeat failed, or the queue
// started no job in it, the figure is n/a and says how many repeats were lost ("1 of 3 repeats
// failed") rather than quietly becoming the median of the repeats that were left.
import { spread } from './stats.mjs';

/**
 * @typedef {object} Figure
 * @property {number} value   the median; NaN when there is no figure (see `reason`)
 * @property {number[]} values   every successful repeat's value (Infinity means "never")
 * @property {string | null} reason   why there is no figure: 'not run', 'no bulk API',
 *   '1 of 3 repeats failed', 'started no job in 2 of 3 repeats'; null when there is one
 * @property {string | null} error   the first failed repeat's error, for the report's cells
 */

export function makeFigures(results) {
  const byKey = new Map(results.map((r) => [r.key, r]));

  /** @returns {Figure} */
  const figure = (key, field) => {
    const entry = byKey.get(key);
    if (!entry || entry.runs.length === 0) return { value: NaN, values: [], reason: 'not run', error: null };
    const runs = entry.runs;
    if (runs.some((r) => r.ok && r.value.unsupported)) return { value: NaN, values: [], reason: 'no bulk API', error: null };
    const failed = runs.filter((r) => !r.ok);
    const idle = runs.filter((r) => r.ok && r.value.startedNone);
    const values = runs.filter((r) => r.ok && !r.value.startedNone).map((r) => field(r.value));
    const lost = [];
    if (failed.length) lost.push(`${failed.length} of ${runs.length} repeat${runs.length === 1 ? '' : 's'} failed`);
    if (idle.length) lost.push(`started no job in ${idle.length} of ${runs.length} repeat${runs.length === 1 ? '' : 's'}`);
    const error = failed[0]?.error ?? null;
    if (lost.length) return { value: NaN, values, reason: lost.join(', '), error };
    const s = spread(values);
    // Every repeat ran but none has this field (graphile-worker has no claim call to time).
    if (s.n === 0) return { value: NaN, values, reason: null, error: null };
    return { value: s.median, values, reason: null, error: null };
  };

  return {
    figure,
    /** The successful repeats' values of `field` (for spreads and informative ranges). */
    values: (key, field) => figure(key, field).values,
    /** The median, or NaN when the figure is n/a for any reason. */
    median: (key, field) => figure(key, field).value,
    /** The settings the first successful repeat reported. */
    settings(key) {
      return byKey.get(key)?.runs.find((r) => r.ok)?.value.settings ?? null;
    },
  };
}
