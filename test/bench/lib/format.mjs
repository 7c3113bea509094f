// Number formatting for the report's tables.
import { spread } from './stats.mjs';

export function rate(v) {
  if (v === Infinity) return '∞';
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
}

export function ms(v) {
  if (v === Infinity) return 'never';
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  if (Math.abs(v) < 10) return v.toFixed(2);
  if (Math.abs(v) < 100) return v.toFixed(1);
  return Math.round(v).toLocaleString('en-US');
}

/** A ratio of two measured figures; never "0×" or "∞×": one side that is 0 or never makes it n/a. */
export function ratio(v) {
  if (typeof v !== 'number' || !Number.isFinite(v) || v === 0) return 'n/a';
  if (v < 0.1) return `${v.toPrecision(2)}×`;
  return v >= 100 ? `${Math.round(v).toLocaleString('en-US')}×` : `${v.toFixed(2)}×`;
}

export function percent(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  return Math.abs(v) < 0.1 ? `${(v * 100).toFixed(1)}%` : `${Math.round(v * 100)}%`;
}

export function count(v) {
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

/**
 * A figure (lib/figures.mjs) as "median [min–max]", formatted with `fmt`; the range only when it
 * has one. A figure with repeats lost is "n/a (1 of 3 repeats failed: first error…)", or just
 * "n/a" when `terse`.
 */
export function cell(figure, fmt, { terse = false } = {}) {
  if (figure.reason === 'no bulk API') return 'n/a (no bulk API)';
  // A row's secondary columns say "n/a" only; its first column gives the reason.
  if (figure.reason && terse) return 'n/a';
  if (figure.reason) return `n/a (${figure.reason}${figure.error ? `: ${figure.error.slice(0, 100)}` : ''})`;
  const s = spread(figure.values);
  if (s.n === 0) return 'n/a';
  if (s.n === 1 || s.min === s.max) return fmt(s.median);
  return `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;
}

/**
 * `a / b` of two figures as a ratio, or n/a with the reason: a repeat lost on either side, or a
 * side that is 0, below 0 or "never" (a queue that started no job has no rate to divide by).
 * @param {{ a: string, b: string }} names   what to call each side in the reason
 */
export function ratioOf(a, b, names = { a: 'Jobbase', b: 'peer' }) {
  if (a.reason) return `n/a (${names.a}: ${a.reason})`;
  if (b.reason) return `n/a (${names.b}: ${b.reason})`;
  for (const [side, f] of [[names.a, a], [names.b, b]]) {
    if (f.value === Infinity) return `n/a (${side}: never)`;
    if (f.value === 0) return `n/a (${side}: 0)`;
    // A latency below 0 is a measuring artefact (section B of the report), not a figure to divide.
    if (f.value < 0) return `n/a (${side}: below 0)`;
  }
  return ratio(a.value / b.value);
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
