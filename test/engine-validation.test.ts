import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Jobs } from '@jobbase/server';
import { EngineFixture } from './helpers/engine.js';

/**
 * What the library refuses before anything reaches the database, with the field and message
 * each refusal names. The checks do not depend on the dialect; they run on SQLite.
 */
describe('library input checks', () => {
  const fx = new EngineFixture('sqlite');
  let jobs: Jobs;
  beforeEach(async () => {
    await fx.setup();
    jobs = await fx.open({ maxPayloadSize: 64 });
  });
  afterEach(() => fx.teardown());

  const refused = (field: string, code: string, message: string) =>
    expect.objectContaining({ code: 'validation', message, fields: { [field]: { code, message } } });

  describe('run_at', () => {
    const RUN_AT = refused('run_at', 'invalid_date', 'run_at must be a valid ISO 8601 date-time.');

    it('takes a Date or an ISO string, from year 1 to year 9999 to the millisecond', async () => {
      for (const runAt of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', new Date('2030-06-01T12:00:00Z')]) {
        const job = await jobs.enqueueWithOptions('t', {}, { runAt });
        expect(job.runAt.toISOString()).toBe(new Date(runAt).toISOString());
      }
    });

    it('refuses a time one millisecond outside those years, an unparsable string, or another type', async () => {
      const outside = [new Date('0001-01-01T00:00:00.000Z').getTime() - 1, new Date('9999-12-31T23:59:59.999Z').getTime() + 1];
      for (const runAt of [...outside.map((t) => new Date(t)), 'tomorrow', '', 1_700_000_000_000, null, {}]) {
        await expect(jobs.enqueueWithOptions('t', {}, { runAt: runAt as Date }), String(runAt)).rejects.toEqual(RUN_AT);
      }
    });
  });

  describe('payload', () => {
    it('is {} when left out, and any JSON value otherwise', async () => {
      expect((await jobs.enqueue('t')).payload).toEqual({});
      for (const payload of [null, 0, 'text', [1, [2]], { a: { b: true } }]) {
        expect((await jobs.enqueue('t', payload)).payload).toEqual(payload);
      }
    });

    it('refuses what JSON cannot hold, saying why', async () => {
      await expect(jobs.enqueue('t', { n: 1n })).rejects.toEqual(
        refused('payload', 'invalid_json', 'payload is not serializable to JSON: Do not know how to serialize a BigInt'),
      );
      await expect(jobs.enqueue('t', () => 1)).rejects.toEqual(refused('payload', 'invalid_json', 'payload must be a JSON value.'));
    });

    it('is at most maxPayloadSize bytes of JSON, counted in UTF-8 bytes', async () => {
      const tooLarge = 'payload must be at most 64 bytes of JSON.';
      // {"s":"…"} is 8 bytes around the string.
      expect((await jobs.enqueue('t', { s: 'x'.repeat(56) })).payload).toEqual({ s: 'x'.repeat(56) });
      await expect(jobs.enqueue('t', { s: 'x'.repeat(57) })).rejects.toMatchObject({ code: 'payload_too_large', message: tooLarge });
      // 28 × 'é' is 28 characters but 56 bytes: fits; 29 does not, though 37 characters would.
      expect((await jobs.enqueue('t', { s: 'é'.repeat(28) })).payload).toEqual({ s: 'é'.repeat(28) });
      await expect(jobs.enqueue('t', { s: 'é'.repeat(29) })).rejects.toMatchObject({
        code: 'payload_too_large',
        fields: { payload: { code: 'too_large', message: tooLarge } },
      });
    });

    it('refuses lone surrogates and NUL, in values and keys; the same text escaped is fine', async () => {
      const unicode = refused('payload', 'invalid_text', 'payload strings must be valid Unicode (no lone surrogates).');
      const nul = refused('payload', 'unsupported_text', 'payload must not contain NUL (\\u0000) characters.');
      await expect(jobs.enqueue('t', { s: '\ud800' })).rejects.toEqual(unicode);
      await expect(jobs.enqueue('t', { ['\udfff']: 1 })).rejects.toEqual(unicode);
      await expect(jobs.enqueue('t', { s: 'a\u0000b' })).rejects.toEqual(nul);
      await expect(jobs.enqueue('t', { ['k\u0000']: 1 })).rejects.toEqual(nul);
      // A backslash followed by the letters: text, not the character.
      for (const s of ['\\ud800', '\\u0000', '\\\\u0000', '😀']) expect((await jobs.enqueue('t', { s })).payload).toEqual({ s });
    });
  });

  describe('the engine’s own calls', () => {
    it('register: one handler per topic, and a function', async () => {
      jobs.register('once', () => undefined);
      expect(() => jobs.register('once', () => undefined)).toThrow(
        expect.objectContaining({ code: 'topic_taken', message: 'Topic "once" already has a handler.' }),
      );
      expect(() => jobs.register('other', 'not a function' as never)).toThrow(new TypeError('handler must be a function'));
    });

    it('enqueueMany takes an array', async () => {
      await expect(jobs.enqueueMany({} as never)).rejects.toEqual(refused('jobs', 'invalid_type', 'jobs must be an array.'));
    });

    it('get, delete and requeue name what they refuse', async () => {
      const missing = '01890000-0000-7000-8000-000000000000';
      await expect(jobs.get(missing)).rejects.toMatchObject({ code: 'not_found', message: `Job "${missing}" was not found.` });
      const claimed = await jobs.enqueue('busy');
      await jobs.store.jobClaim({ topics: ['busy'], limit: 1, lockDuration: 60_000 });
      await expect(jobs.delete(claimed.id)).rejects.toMatchObject({ code: 'conflict', message: 'Only pending, failed or cancelled jobs can be deleted.' });
    });

    it('a closed engine refuses every call, saying so', async () => {
      await jobs.close();
      await expect(jobs.enqueue('t')).rejects.toMatchObject({ code: 'closed', message: 'The job engine is closed.' });
      await expect(jobs.stats()).rejects.toMatchObject({ code: 'closed' });
    });
  });
});
