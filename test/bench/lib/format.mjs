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

export function ratio(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return 'n/a';
  if (v === 0) return '0×';
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

/** "median [min–max]" of repeated values, formatted with `fmt`; the range only when it has one. */
export function cell(values, fmt) {
  const s = spread(values);
  if (s.n === 0) return 'n/a';
  if (s.n === 1 || s.min === s.max) return fmt(s.median);
  return `${fmt(s.median)} [${fmt(s.min)}–${fmt(s.max)}]`;
}

export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
