import { randomBytes } from 'node:crypto';
import { UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/core';
import { SettingEntity } from '../store/entities.js';

const TOKEN_SECRET_KEY = 'token_secret';

/**
 * The HMAC key tokens are signed with, created on first start and kept in the database so
 * tokens survive restarts and verify in every process sharing it. Two processes starting at
 * once both try to insert; the primary key lets one win and both then read the winner's.
 */
export async function loadTokenSecret(orm: MikroORM): Promise<Uint8Array> {
  const existing = await readSecret(orm);
  if (existing) return existing;
  try {
    await orm.em.fork().insert(SettingEntity, { key: TOKEN_SECRET_KEY, value: randomBytes(32).toString('base64url') });
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
  }
  const stored = await readSecret(orm);
  if (!stored) throw new Error('The token secret could not be stored in the settings table.');
  return stored;
}

async function readSecret(orm: MikroORM): Promise<Uint8Array | null> {
  const row = await orm.em.fork().findOne(SettingEntity, { key: TOKEN_SECRET_KEY }, { disableIdentityMap: true });
  return row ? new Uint8Array(Buffer.from(row.value, 'base64url')) : null;
}
