import type { WorkerTokenBody, WorkerTokenCreateBody } from '@jobbase/contract';
import type { WorkerToken, WorkerTokens } from '../auth/worker-tokens.js';

/** A worker token's record → the contract's body: never its hash (WorkerToken has none). */
export function toWorkerTokenBody(t: WorkerToken): WorkerTokenBody {
  return { id: t.id, name: t.name, role: t.role, topics: t.topics, created: t.created.toISOString() };
}

/**
 * `contract.workerTokens`: one WorkerTokens call each, as the CLI's `token` commands make;
 * its errors (a bad topic or name, an unknown id) go to the error handler.
 */
export function workerTokenHandlers(tokens: WorkerTokens) {
  return {
    list: async () => ({ status: 200 as const, body: { items: (await tokens.list()).map(toWorkerTokenBody) } }),
    create: async ({ body }: { body: WorkerTokenCreateBody }) => {
      const { token, record } = await tokens.create({ name: body.name, topics: body.topics });
      return { status: 201 as const, body: { token, ...toWorkerTokenBody(record) } };
    },
    revoke: async ({ params }: { params: { id: string } }) => {
      await tokens.revokeById(params.id);
      return { status: 204 as const, body: undefined };
    },
  };
}
