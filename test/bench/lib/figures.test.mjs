// node --test test/bench/lib/   (no database, no peers installed: the report's arithmetic only)
//
// A lost repeat must never turn into a figure: not the median of the repeats that were left,
// and not "0×" for a queue that started no job.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeFigures } from './figures.mjs';
import { cell, rate, ratio, ratioOf } from './format.mjs';

const ok = (value) => ({ ok: true, value });
const failed = (error) => ({ ok: false, error });
const jobsPerSecond = (v) => v.jobsPerSecond;

test('a failed repeat makes the figure n/a and is counted, not dropped from the median', () => {
  const f = makeFigures([{ key: 'drain:x:10', runs: [ok({ jobsPerSecond: 100 }), failed('killed'), ok({ jobsPerSecond: 300 })] }]);
  const fig = f.figure('drain:x:10', jobsPerSecond);
  assert.ok(Number.isNaN(fig.value));
  assert.equal(fig.reason, '1 of 3 repeats failed');
  assert.equal(cell(fig, rate), 'n/a (1 of 3 repeats failed: killed)');
  assert.equal(cell(fig, rate, { terse: true }), 'n/a');
  assert.ok(Number.isNaN(f.median('drain:x:10', jobsPerSecond)));
});

test('a repeat in which the queue started no job is counted the same way', () => {
  const f = makeFigures([{ key: 'drain:x:10', runs: [ok({ jobsPerSecond: NaN, startedNone: true }), ok({ jobsPerSecond: 5 })] }]);
  assert.equal(f.figure('drain:x:10', jobsPerSecond).reason, 'started no job in 1 of 2 repeats');
});

test('a ratio against a lost, zero or never figure is n/a with the reason, never 0×', () => {
  const good = { value: 1_000, values: [1_000], reason: null };
  assert.equal(ratioOf(good, { value: NaN, values: [], reason: '2 of 3 repeats failed' }), 'n/a (peer: 2 of 3 repeats failed)');
  assert.equal(ratioOf(good, { value: Infinity, values: [Infinity], reason: null }), 'n/a (peer: never)');
  assert.equal(ratioOf(good, { value: 0, values: [0], reason: null }), 'n/a (peer: 0)');
  assert.equal(ratioOf({ value: 0, values: [0], reason: null }, good), 'n/a (Jobbase: 0)');
  assert.equal(ratio(0), 'n/a');
  assert.equal(ratioOf(good, { value: 500, values: [500], reason: null }), '2.00×');
});

test('repeats that all succeeded give the median and the range', () => {
  const f = makeFigures([{ key: 'k', runs: [ok({ jobsPerSecond: 300 }), ok({ jobsPerSecond: 100 }), ok({ jobsPerSecond: 200 })] }]);
  const fig = f.figure('k', jobsPerSecond);
  assert.equal(fig.value, 200);
  assert.equal(cell(fig, rate), '200 [100–300]');
  assert.equal(f.figure('missing', jobsPerSecond).reason, 'not run');
});

test('a latency below 0 (the enqueuer noted its return late) is not divided', () => {
  const good = { value: 2, values: [2], reason: null };
  assert.equal(ratioOf({ value: -0.8, values: [-0.8], reason: null }, good), 'n/a (Jobbase: below 0)');
});
