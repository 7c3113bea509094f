import { createHash, randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { isStorableText } from '@jobbase/contract';
import { validTopic, validWorkerTokenName } from '../engine/validate.js';
import { JobsError } from '../errors.js';
import type { WorkerTokenRecord, WorkerTokenStore } from '../store/types.js';

/** Every worker token starts so: a request's token is told apart from a superuser's JWT unread. */
export const WORKER_TOKEN_PREFIX = 'jbw_';

/** A worker token as shown to its owner: never its secret, which is printed once at creation. */
export type WorkerToken = Omit<WorkerTokenRecord, 'tokenHash'>;

export function isWorkerToken(token: string): boolean {
  return token.startsWith(WORKER_TOKEN_PREFIX);
}

/** SHA-256, hex: a random 32-byte token needs no slow hash (nothing to guess). */
export function hashWorkerToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Worker tokens (issue 19): made by `jobbase token create --role worker` or
 * `POST /api/worker-tokens` (both call this class), kept hashed, checked on every request (a
 * revoked one is refused at its next request: there is no cache).
 */
export class WorkerTokens {
  constructor(private readonly store: WorkerTokenStore) {}

  /** A new token and its record; the token is not kept and cannot be shown again. */
  async create(options: { name?: string; topics?: readonly string[] | null }): Promise<{ token: string; record: WorkerToken }> {
    const topics = options.topics && options.topics.length > 0 ? [...new Set(options.topics.map((t) => validTopic(t)))] : null;
    const name = validWorkerTokenName(options.name ?? `worker-${new Date().toISOString()}`);
    const token = WORKER_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const record: WorkerTokenRecord = { id: uuidv7(), name, role: 'worker', topics, tokenHash: hashWorkerToken(token), created: new Date() };
    await this.store.workerTokenInsert(record);
    return { token, record: shown(record) };
  }

  async list(): Promise<WorkerToken[]> {
    return (await this.store.workerTokenList()).map(shown);
  }

  /** How many tokens had this id or name (0: none; nothing changed). The CLI's revoke. */
  revoke(idOrName: string): Promise<number> {
    return this.store.workerTokenRevoke(idOrName);
  }

  /**
   * Revokes the token with this id; a `not_found` JobsError when there is none. The HTTP route's
   * revoke: by id only, so a name can never take another token with it.
   */
  async revokeById(id: string): Promise<void> {
    // Text PostgreSQL cannot hold (a NUL) would be an error there, not "no such token".
    if (!isStorableText(id) || !(await this.store.workerTokenRevokeById(id))) {
      throw new JobsError('not_found', `Worker token "${id}" was not found.`);
    }
  }

  /** The token's record, or null for an unknown or revoked one. */
  async authenticate(token: string): Promise<WorkerToken | null> {
    if (!isWorkerToken(token)) return null;
    const record = await this.store.workerTokenByHash(hashWorkerToken(token));
    return record ? shown(record) : null;
  }
}

function shown({ tokenHash: _, ...rest }: WorkerTokenRecord): WorkerToken {
  return rest;
}
