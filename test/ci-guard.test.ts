import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dialectsFor } from './helpers/databases.js';
import setup from './helpers/global-setup.js';
import { freePort } from './helpers/ports.js';
import { prerequisite, underCi } from './helpers/prerequisites.js';

/** CI never skips silently: what would be a skip elsewhere fails there, with the reason. */
describe('the CI guard', () => {
  beforeEach(() => {
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  const runSetup = async () => {
    const provided: boolean[] = [];
    await setup({ provide: (_key, value) => provided.push(value) });
    return provided;
  };

  it('the global setup fails under CI when JOBBASE_TEST_POSTGRES=0 would turn PostgreSQL off', async () => {
    vi.stubEnv('CI', 'true');
    vi.stubEnv('JOBBASE_TEST_POSTGRES', '0');
    await expect(runSetup()).rejects.toThrow('CI is set but JOBBASE_TEST_POSTGRES=0 would skip every PostgreSQL test');

    vi.stubEnv('CI', '');
    expect(await runSetup()).toEqual([false]);
    expect(console.log).toHaveBeenCalledWith('PostgreSQL tests disabled by JOBBASE_TEST_POSTGRES=0.');
  });

  it('the global setup fails under CI when PostgreSQL cannot be reached, and skips with a line elsewhere', async () => {
    vi.stubEnv('JOBBASE_TEST_POSTGRES', '');
    vi.stubEnv('JOBBASE_TEST_PG_URL', `postgres://postgres@127.0.0.1:${await freePort()}/test`);
    vi.stubEnv('CI', 'true');
    await expect(runSetup()).rejects.toThrow(/^CI is set but PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/test cannot be reached: /);

    vi.stubEnv('CI', '');
    expect(await runSetup()).toEqual([false]);
    expect(console.log).toHaveBeenCalledWith(expect.stringMatching(/^PostgreSQL tests skipped: no server at /));
  });

  it('a missing prerequisite fails under CI with the reason, and is a printed skip elsewhere', () => {
    vi.stubEnv('CI', 'true');
    expect(prerequisite(true, 'unused')).toBe(true);
    expect(() => prerequisite(false, 'there is no Chromium at /nowhere')).toThrow('CI is set, so this cannot be skipped: there is no Chromium at /nowhere.');
    expect(() => dialectsFor(false)).toThrow('CI is set but the PostgreSQL tests are off');
    expect(dialectsFor(true)).toEqual(['sqlite', 'postgres']);

    vi.stubEnv('CI', '');
    expect(prerequisite(false, 'there is no Chromium at /nowhere')).toBe(false);
    expect(console.log).toHaveBeenCalledWith('Skipped: there is no Chromium at /nowhere.');
    expect(dialectsFor(false)).toEqual(['sqlite']);
  });

  it('CI counts as set unless it is empty, 0 or false', () => {
    for (const value of ['true', '1', 'yes', 'TRUE']) expect(underCi({ CI: value }), value).toBe(true);
    for (const value of [undefined, '', '0', 'false', 'False']) expect(underCi({ CI: value }), String(value)).toBe(false);
  });
});
