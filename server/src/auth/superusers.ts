import { randomBytes, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type MikroORM } from '@mikro-orm/core';
import { JobsError } from '../errors.js';
import { SuperuserEntity } from '../store/entities.js';
import { hashPassword, verifyPassword } from './password.js';

export interface Superuser {
  id: string;
  email: string;
  passwordHash: string;
  tokenKey: string;
  created: Date;
  updated: Date;
}

export type UpsertResult = 'created' | 'updated' | 'unchanged';

const MAX_EMAIL_LENGTH = 255;
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** Emails compare case-insensitively, as PocketBase's do. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findSuperuserByEmail(orm: MikroORM, email: string): Promise<Superuser | null> {
  return orm.em.fork().findOne(SuperuserEntity, { email: normalizeEmail(email) }, { disableIdentityMap: true });
}

/**
 * Runs on every authenticated request, so it is one plain parameterized query rather than an
 * entity load: 0.1 ms instead of 1.3 ms (measured on SQLite), most of a small request's cost.
 */
export async function findSuperuserById(orm: MikroORM, id: string): Promise<Superuser | null> {
  const rows = await orm.em
    .getConnection()
    .execute<Record<string, unknown>[]>(
      'select id, email, password_hash, token_key, created, updated from superusers where id = ?',
      [id],
      'all',
    );
  const row = rows[0];
  if (!row) return null;
  return {
    id: row.id as string,
    email: row.email as string,
    passwordHash: row.password_hash as string,
    tokenKey: row.token_key as string,
    created: new Date(row.created as string | Date),
    updated: new Date(row.updated as string | Date),
  };
}

export function countSuperusers(orm: MikroORM): Promise<number> {
  return orm.em.fork().count(SuperuserEntity);
}

/**
 * Creates the superuser or sets its password. A new password gets a new token key, which
 * revokes every token issued before; the same password changes nothing, so upserting from the
 * environment at every start keeps sessions alive. Two processes upserting at once: the
 * loser of the insert race falls back to the update path.
 */
export async function upsertSuperuser(orm: MikroORM, email: string, password: string): Promise<UpsertResult> {
  const normalized = validEmail(email);
  validPassword(password);
  const existing = await findSuperuserByEmail(orm, normalized);
  if (existing) return updatePassword(orm, existing, password);
  const now = new Date();
  try {
    await orm.em.fork().insert(SuperuserEntity, {
      id: randomUUID(),
      email: normalized,
      passwordHash: await hashPassword(password),
      tokenKey: newTokenKey(),
      created: now,
      updated: now,
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof UniqueConstraintViolationException)) throw err;
    const winner = await findSuperuserByEmail(orm, normalized);
    if (!winner) throw err;
    return updatePassword(orm, winner, password);
  }
}

async function updatePassword(orm: MikroORM, superuser: Superuser, password: string): Promise<UpsertResult> {
  if (await verifyPassword(password, superuser.passwordHash)) return 'unchanged';
  await orm.em
    .fork()
    .nativeUpdate(
      SuperuserEntity,
      { id: superuser.id },
      { passwordHash: await hashPassword(password), tokenKey: newTokenKey(), updated: new Date() },
    );
  return 'updated';
}

function newTokenKey(): string {
  return randomBytes(32).toString('base64url');
}

function validEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (normalized.length > MAX_EMAIL_LENGTH || !/^[^\s@]+@[^\s@]+$/.test(normalized)) {
    const message = `"${email}" is not a valid email address.`;
    throw new JobsError('validation', message, { email: { code: 'invalid_email', message } });
  }
  return normalized;
}

function validPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    const message = `The password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long.`;
    throw new JobsError('validation', message, { password: { code: 'invalid_length', message } });
  }
}
