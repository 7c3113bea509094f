import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import { routeDocs, type RouterDocs } from './route-docs.js';
import { ErrorSchema, isStorableText, TopicSchema, type ErrorBody } from './schemas.js';

/*
 * Worker tokens (issue 19) over HTTP: the routes a superuser manages remote workers' tokens with,
 * as `jobbase token create|list|revoke` does from a shell. The secret is answered once, by the
 * create; the server keeps only its hash, so no route can show it again.
 */

const c = initContract();
const isoTime = z.string().datetime({ offset: true });

/** Most topics one token may name: a claim names at most 100 too (workers.ts). */
export const MAX_WORKER_TOKEN_TOPICS = 100;
/** Longest token name, in characters. */
export const MAX_WORKER_TOKEN_NAME_LENGTH = 255;

const NAME_MESSAGE = `The token name must be 1 to ${MAX_WORKER_TOKEN_NAME_LENGTH} characters.`;

/** A token's name: what `token list` shows and `token revoke` takes. The CLI and the routes check it with this. */
export const WorkerTokenNameSchema = z
  .string({ invalid_type_error: 'The token name must be a string.' })
  .min(1, NAME_MESSAGE)
  .max(MAX_WORKER_TOKEN_NAME_LENGTH, NAME_MESSAGE)
  .refine(isStorableText, 'The token name must be valid Unicode without NUL (\\u0000) characters.');

export const WorkerTokenSchema = z
  .object({
    id: z.string().describe('The token’s id (a UUID v7): what `DELETE /api/worker-tokens/{id}` takes.'),
    name: z.string(),
    role: z.literal('worker').describe('What the token may do: `worker` claims, heartbeats and finishes jobs, nothing else.'),
    topics: z.array(z.string()).nullable().describe('The topics whose jobs it may claim and finish; null: every topic.'),
    created: isoTime,
  })
  .describe('WorkerToken');
export type WorkerTokenBody = z.infer<typeof WorkerTokenSchema>;

export const WorkerTokenListSchema = z
  .object({ items: z.array(WorkerTokenSchema).describe('Every worker token, oldest first.') })
  .describe('WorkerTokenList');
export type WorkerTokenList = z.infer<typeof WorkerTokenListSchema>;

export const WorkerTokenCreateBodySchema = z
  .object({
    name: WorkerTokenNameSchema.optional().describe(
      `A name to find it by, 1–${MAX_WORKER_TOKEN_NAME_LENGTH} characters; \`worker-<the time>\` when omitted. Names need not be unique.`,
    ),
    topics: z
      .array(TopicSchema, { invalid_type_error: 'topics must be an array of topics.' })
      .min(1, 'topics must name at least one topic; leave it out (or null) for every topic.')
      .max(MAX_WORKER_TOKEN_TOPICS, `topics must name at most ${MAX_WORKER_TOKEN_TOPICS} topics.`)
      .nullable()
      .optional()
      .describe(`The topics it may claim and finish, up to ${MAX_WORKER_TOKEN_TOPICS}; every topic when omitted or null.`),
  })
  .strict()
  .describe('WorkerTokenCreateBody');
export type WorkerTokenCreateBody = z.infer<typeof WorkerTokenCreateBodySchema>;

export const CreatedWorkerTokenSchema = WorkerTokenSchema.extend({
  token: z
    .string()
    .describe('The secret (`jbw_…`), for the worker’s `Authorization: Bearer` header. Only this answer carries it: the server keeps its SHA-256 alone.'),
}).describe('CreatedWorkerToken');
export type CreatedWorkerTokenBody = z.infer<typeof CreatedWorkerTokenSchema>;

const idParams = z.object({ id: z.string().describe('The token’s id.') });

const superuserOnly: RouterDocs = { security: 'superuser' };

export const workerTokenExample = {
  id: '0194455b-5100-7c3a-9f2e-4b8d1a6e0c60',
  name: 'resizer',
  role: 'worker',
  topics: ['resize'],
  created: '2025-01-08T12:00:00.000Z',
} satisfies WorkerTokenBody;

const createdExample = {
  ...workerTokenExample,
  token: 'jbw_q3Jx1pV0mG8cZs2YtK7wB4nE9dLr6hUaFiOe5TyWjXk',
} satisfies CreatedWorkerTokenBody;

const createErrorExample = {
  status: 400,
  message: 'topics.0: Topic must not be empty.',
  data: { 'topics.0': { code: 'too_small', message: 'Topic must not be empty.' } },
} satisfies ErrorBody;

const notFoundExample = {
  status: 404,
  message: 'Worker token "0194455b-5100-7c3a-9f2e-4b8d1a6e0c60" was not found.',
  data: {},
} satisfies ErrorBody;

const WORKER_REFUSED = 'The request carries a worker token: only a superuser manages tokens.';

export const workerTokensContract = c.router(
  {
    list: {
      method: 'GET',
      path: '/api/worker-tokens',
      responses: { 200: WorkerTokenListSchema, 401: ErrorSchema, 403: ErrorSchema },
      summary: 'List worker tokens',
      description: 'Every worker token, oldest first: its id, name, role, topics and when it was made. Never the secret, nor its hash.',
      metadata: routeDocs({
        operationId: 'listWorkerTokens',
        responses: { 200: 'The tokens.', 403: WORKER_REFUSED },
        examples: { responses: { 200: { items: [workerTokenExample] } } },
      }),
    },
    create: {
      method: 'POST',
      path: '/api/worker-tokens',
      body: WorkerTokenCreateBodySchema,
      responses: { 201: CreatedWorkerTokenSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema },
      summary: 'Create a worker token',
      description:
        'Makes a token that may claim, heartbeat and finish jobs of `topics` (every topic without them) and nothing else, for a remote worker. ' +
        'The answer is the only place the secret appears: keep it, or revoke the token and make another.',
      metadata: routeDocs({
        operationId: 'createWorkerToken',
        responses: {
          201: 'The token’s record and its secret, `token`.',
          400: 'The body is invalid (a name empty or over 255 characters, `topics` empty, over 100 or with a bad topic, an unknown field); `data` names the field.',
          403: WORKER_REFUSED,
          413: 'The request body is larger than the 256 KiB a token’s body may take.',
          415: 'The body was sent with another `Content-Type` than `application/json`.',
        },
        examples: { request: { name: 'resizer', topics: ['resize'] }, responses: { 201: createdExample, 400: createErrorExample } },
      }),
    },
    revoke: {
      method: 'DELETE',
      path: '/api/worker-tokens/:id',
      pathParams: idParams,
      body: c.noBody(),
      responses: { 204: c.noBody(), 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema },
      summary: 'Revoke a worker token',
      description: 'Deletes the token: its next request, a claim already waiting included, is refused with a 401. The jobs it holds are rescued when their locks run out.',
      metadata: routeDocs({
        operationId: 'revokeWorkerToken',
        responses: { 204: 'Revoked.', 403: WORKER_REFUSED, 404: 'No worker token has this id.' },
        examples: { responses: { 404: notFoundExample } },
      }),
    },
  },
  { metadata: superuserOnly },
);
