import { initContract } from '@ts-rest/core';
import { z } from 'zod';
import {
  AuthRequestSchema,
  AuthResponseSchema,
  EnqueueBodySchema,
  ErrorSchema,
  HealthSchema,
  JobPageSchema,
  JobSchema,
  ListQuerySchema,
  StatsSchema,
} from './schemas.js';

const c = initContract();

const idParams = z.object({ id: z.string().describe('The job’s id.') });

/**
 * Every HTTP endpoint, defined once. The server implements this router, the client is
 * inferred from it and the OpenAPI document is generated from it.
 * Order matters: `/api/jobs/stats` comes before `/api/jobs/:id` so it is not taken for an id.
 */
export const jobsContract = c.router({
  enqueue: {
    method: 'POST',
    path: '/api/jobs/enqueue',
    body: EnqueueBodySchema,
    responses: { 200: JobSchema, 400: ErrorSchema, 401: ErrorSchema, 413: ErrorSchema },
    summary: 'Enqueue a job',
  },
  list: {
    method: 'GET',
    path: '/api/jobs',
    query: ListQuerySchema,
    responses: { 200: JobPageSchema, 400: ErrorSchema, 401: ErrorSchema },
    summary: 'List jobs, newest first',
  },
  stats: {
    method: 'GET',
    path: '/api/jobs/stats',
    responses: { 200: StatsSchema, 401: ErrorSchema },
    summary: 'Count jobs by status',
  },
  get: {
    method: 'GET',
    path: '/api/jobs/:id',
    pathParams: idParams,
    responses: { 200: JobSchema, 401: ErrorSchema, 404: ErrorSchema },
    summary: 'Get one job',
  },
  requeue: {
    method: 'POST',
    path: '/api/jobs/:id/requeue',
    pathParams: idParams,
    body: c.noBody(),
    responses: { 200: JobSchema, 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
    summary: 'Requeue a failed job',
  },
  delete: {
    method: 'DELETE',
    path: '/api/jobs/:id',
    pathParams: idParams,
    body: c.noBody(),
    responses: { 204: c.noBody(), 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
    summary: 'Delete a pending or failed job',
  },
});

export const authContract = c.router({
  authWithPassword: {
    method: 'POST',
    path: '/api/collections/_superusers/auth-with-password',
    body: AuthRequestSchema,
    responses: { 200: AuthResponseSchema, 400: ErrorSchema, 429: ErrorSchema },
    summary: 'Sign in as a superuser (PocketBase-compatible)',
  },
});

export const systemContract = c.router({
  health: {
    method: 'GET',
    path: '/api/health',
    responses: { 200: HealthSchema },
    summary: 'Health check',
  },
});

export const contract = c.router({
  jobs: jobsContract,
  auth: authContract,
  system: systemContract,
});
export type Contract = typeof contract;
