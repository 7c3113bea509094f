import type { SuperuserRecord } from '@jobbase/server/testing';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { dialects } from '../helpers/databases.js';
import { useStore } from './fixture.js';

function superuser(email: string, overrides: Partial<SuperuserRecord> = {}): SuperuserRecord {
  return {
    id: uuidv7(),
    email,
    passwordHash: `scrypt$${email}$hash`,
    tokenKey: `key-${email}`,
    created: new Date('2026-03-04T05:06:07.089Z'),
    updated: new Date('2026-03-04T05:06:07.089Z'),
    ...overrides,
  };
}

describe.each(dialects())('store: superusers on %s', (dialect) => {
  const fx = useStore(dialect);

  it('superuserInsert stores the record, read back by id and by email, times to the ms', async () => {
    const record = superuser('admin@example.com', { updated: new Date('2026-05-06T07:08:09.999Z') });
    expect(await fx.store.superuserInsert(record)).toBe('created');
    expect(await fx.store.superuserGetById(record.id)).toEqual(record);
    expect(await fx.store.superuserGetByEmail('admin@example.com')).toEqual(record);
  });

  it('a second superuser with a taken email is a duplicate, and the first stays as it was', async () => {
    const first = superuser('admin@example.com');
    await fx.store.superuserInsert(first);
    const second = superuser('admin@example.com', { passwordHash: 'other', tokenKey: 'other' });
    expect(await fx.store.superuserInsert(second)).toBe('duplicate');
    expect(await fx.store.superuserGetByEmail('admin@example.com')).toEqual(first);
    expect(await fx.store.superuserGetById(second.id)).toBeNull();
    expect(await fx.store.superuserCount()).toBe(1);
  });

  it('unknown ids and emails read as null', async () => {
    await fx.store.superuserInsert(superuser('admin@example.com'));
    expect(await fx.store.superuserGetById(uuidv7())).toBeNull();
    expect(await fx.store.superuserGetByEmail('nobody@example.com')).toBeNull();
  });

  it('superuserCount counts the superusers', async () => {
    expect(await fx.store.superuserCount()).toBe(0);
    for (const email of ['a@x.io', 'b@x.io', 'c@x.io']) await fx.store.superuserInsert(superuser(email));
    expect(await fx.store.superuserCount()).toBe(3);
  });

  it('superuserList returns every superuser, by email', async () => {
    expect(await fx.store.superuserList()).toEqual([]);
    const records = ['c@x.io', 'a@x.io', 'b@x.io'].map((email, i) =>
      superuser(email, { created: new Date(Date.UTC(2026, 0, 1 + i, 12, 30, 15, 250)) }),
    );
    for (const record of records) await fx.store.superuserInsert(record);
    expect(await fx.store.superuserList()).toEqual([records[1], records[2], records[0]]);
  });

  it('superuserSetPassword replaces the hash and token key of that superuser only', async () => {
    const admin = superuser('admin@example.com');
    const other = superuser('other@example.com');
    await fx.store.superuserInsert(admin);
    await fx.store.superuserInsert(other);
    const before = Date.now();
    expect(await fx.store.superuserSetPassword({ id: admin.id, passwordHash: 'new-hash', tokenKey: 'new-key' })).toBe(true);
    const stored = (await fx.store.superuserGetById(admin.id))!;
    expect(stored).toMatchObject({ ...admin, passwordHash: 'new-hash', tokenKey: 'new-key', updated: expect.any(Date) });
    expect(stored.updated.getTime()).toBeGreaterThanOrEqual(before);
    expect(await fx.store.superuserGetById(other.id)).toEqual(other);
  });

  it('superuserSetPassword of an unknown id is false and changes nothing', async () => {
    const admin = superuser('admin@example.com');
    await fx.store.superuserInsert(admin);
    expect(await fx.store.superuserSetPassword({ id: uuidv7(), passwordHash: 'h', tokenKey: 'k' })).toBe(false);
    expect(await fx.store.superuserGetById(admin.id)).toEqual(admin);
  });

  it('superuserDelete removes that superuser: true, then false once absent', async () => {
    const admin = superuser('admin@example.com');
    const other = superuser('other@example.com');
    await fx.store.superuserInsert(admin);
    await fx.store.superuserInsert(other);
    expect(await fx.store.superuserDelete('admin@example.com')).toBe(true);
    expect(await fx.store.superuserGetById(admin.id)).toBeNull();
    expect(await fx.store.superuserCount()).toBe(1);
    expect(await fx.store.superuserDelete('admin@example.com')).toBe(false);
    expect(await fx.store.superuserDelete('nobody@example.com')).toBe(false);
    expect(await fx.store.superuserGetById(other.id)).toEqual(other);
    // The email is free again.
    expect(await fx.store.superuserInsert(superuser('admin@example.com'))).toBe('created');
  });

  it('two stores inserting one email at once: one created, one duplicate', async () => {
    const other = await fx.openAnother();
    const results = await Promise.all([
      fx.store.superuserInsert(superuser('race@example.com')),
      other.superuserInsert(superuser('race@example.com')),
    ]);
    expect(results.sort()).toEqual(['created', 'duplicate']);
    expect(await fx.store.superuserCount()).toBe(1);
  });
});
