import { randomBytes } from 'node:crypto';
import type { SettingStore } from '../store/types.js';

const TOKEN_SECRET_KEY = 'token_secret';

/**
 * The HMAC key tokens are signed with, created on first start and kept in the database so
 * tokens survive restarts and verify in every process sharing it. Two processes starting at
 * once both offer one; the first stored wins and both sign with it.
 */
export async function loadTokenSecret(store: SettingStore): Promise<Uint8Array> {
  const stored =
    (await store.settingGet(TOKEN_SECRET_KEY)) ??
    (await store.settingInsertIfAbsent(TOKEN_SECRET_KEY, randomBytes(32).toString('base64url')));
  return new Uint8Array(Buffer.from(stored, 'base64url'));
}
