// Reading one figure out of a run's results: the successful repeats' values and their median.
import { spread } from './stats.mjs';

export function makeFigures(results) {
  const byKey = new Map(results.map((r) => [r.key, r]));
  /** The values of `field` over the repeats of case `key` that succeeded. */
  const values = (key, field) => {
    const entry = byKey.get(key);
    if (!entry) return [];
    return entry.runs.filter((r) => r.ok && !r.value.unsupported).map((r) => field(r.value));
  };
  return {
    values,
    median: (key, field) => spread(values(key, field)).median,
    /** Why a case has no figure: unsupported, failed (first error), or not run. */
    gap(key) {
      const entry = byKey.get(key);
      if (!entry) return 'not run';
      if (entry.runs.some((r) => r.ok && r.value.unsupported)) return 'no bulk API';
      const failed = entry.runs.find((r) => !r.ok);
      return failed ? `failed: ${failed.error.slice(0, 120)}` : null;
    },
    /** The settings the first successful repeat reported. */
    settings(key) {
      return byKey.get(key)?.runs.find((r) => r.ok)?.value.settings ?? null;
    },
  };
}
