import { topicControlContract, type TopicInfoBody, type TopicPatch } from '@jobbase/contract';
import { initContract } from '@ts-rest/core';
import { initServer } from '@ts-rest/express';
import type { Jobs, TopicInfo, TopicUpdate } from '../engine/jobs.js';

/** The engine's topic control, as the routes use it. */
export type TopicRoutesEngine = Pick<Jobs, 'listTopics' | 'getTopic' | 'updateTopic' | 'pauseTopic' | 'resumeTopic'>;

/** Strict like the rest of the server's contract (routes.ts): an undeclared status fails to type-check. */
const serverTopicContract = initContract().router(topicControlContract, { strictStatusCodes: true });

/** `contract.topics`: each handler calls one engine method; engine errors go to the error handler. */
export function topicRoutes(jobs: TopicRoutesEngine) {
  return initServer().router(serverTopicContract, {
    list: async () => ({ status: 200, body: { items: (await jobs.listTopics()).map(toTopicBody) } }),
    get: async ({ params }) => ({ status: 200, body: toTopicBody(await jobs.getTopic(params.topic)) }),
    update: async ({ params, body }) => ({ status: 200, body: toTopicBody(await jobs.updateTopic(params.topic, toTopicUpdate(body))) }),
    pause: async ({ params }) => ({ status: 200, body: toTopicBody(await jobs.pauseTopic(params.topic)) }),
    resume: async ({ params }) => ({ status: 200, body: toTopicBody(await jobs.resumeTopic(params.topic)) }),
  });
}

export function toTopicBody(topic: TopicInfo): TopicInfoBody {
  return {
    topic: topic.topic,
    counts: topic.counts,
    oldest_pending_age_ms: topic.oldestPendingAge,
    paused: topic.paused,
    max_running: topic.maxRunning,
    rate_limit: topic.rateLimit && { max: topic.rateLimit.max, per_ms: topic.rateLimit.perMs },
    registered_at: topic.registeredAt?.toISOString() ?? null,
    updated: topic.updated?.toISOString() ?? null,
  };
}

/** The body's fields under the library's names; a field left out stays left out. */
function toTopicUpdate(body: TopicPatch): TopicUpdate {
  const update: TopicUpdate = {};
  if (body.max_running !== undefined) update.maxRunning = body.max_running;
  if (body.rate_limit !== undefined) update.rateLimit = body.rate_limit && { max: body.rate_limit.max, perMs: body.rate_limit.per_ms };
  return update;
}
