import { randomBytes, randomUUID } from 'node:crypto';
import { isStorableText } from '@jobbase/contract';
import { JobsError } from '../errors.js';
import type { SuperuserRecord, SuperuserStore } from '../store/types.js';
import { hashPassword, verifyPassword } from './password.js';

/** A superuser as the server sees it (the password only as its hash). */
export type Superuser = SuperuserRecord;

export type UpsertResult = 'created' | 'updated' | 'unchanged';

const MAX_EMAIL_LENGTH = 255;
const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

/** Emails compare case-insensitively, as PocketBase's do. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function findSuperuserByEmail(store: SuperuserStore, email: string): Promise<Superuser | null> {
  return store.superuserGetByEmail(normalizeEmail(email));
}

export function countSuperusers(store: SuperuserStore): Promise<number> {
  return store.superuserCount();
}

/** Every superuser, by email. */
export function listSuperusers(store: SuperuserStore): Promise<Superuser[]> {
  return store.superuserList();
}

/**
 * Creates the superuser or sets its password. A new password gets a new token key, which
 * revokes every token issued before; the same password changes nothing, so upserting from the
 * environment at every start keeps sessions alive. Two processes upserting at once: the
 * loser of the insert race falls back to the update path.
 */
export async function upsertSuperuser(store: SuperuserStore, email: string, password: string): Promise<UpsertResult> {
  const normalized = validEmail(email);
  validPassword(password);
  const existing = await store.superuserGetByEmail(normalized);
  if (existing) return updatePassword(store, existing, password);
  const now = new Date();
  const inserted = await store.superuserInsert({
    id: randomUUID(),
    email: normalized,
    passwordHash: await hashPassword(password),
    tokenKey: newTokenKey(),
    created: now,
    updated: now,
  });
  if (inserted === 'created') return 'created';
  const winner = await store.superuserGetByEmail(normalized);
  if (!winner) throw new JobsError('conflict', `The superuser ${normalized} was deleted while being created; try again.`);
  return updatePassword(store, winner, password);
}

/** Deletes the superuser with that email (and so every token of theirs); false when there is none. */
export function deleteSuperuser(store: SuperuserStore, email: string): Promise<boolean> {
  return store.superuserDelete(normalizeEmail(email));
}

async function updatePassword(store: SuperuserStore, superuser: Superuser, password: string): Promise<UpsertResult> {
  if (await verifyPassword(password, superuser.passwordHash)) return 'unchanged';
  await store.superuserSetPassword({ id: superuser.id, passwordHash: await hashPassword(password), tokenKey: newTokenKey() });
  return 'updated';
}

function newTokenKey(): string {
  return randomBytes(32).toString('base64url');
}

function validEmail(email: string): string {
  const normalized = normalizeEmail(email);
  if (normalized.length > MAX_EMAIL_LENGTH || !/^[^\s@]+@[^\s@]+$/.test(normalized) || !isStorableText(normalized)) {
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
  // Sign-in refuses such a password unread, so it could never be used.
  if (!isStorableText(password)) {
    const message = 'The password must be valid Unicode without NUL (\\u0000) characters.';
    throw new JobsError('validation', message, { password: { code: 'invalid_text', message } });
  }
}
