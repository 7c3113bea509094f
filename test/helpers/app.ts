import { expect } from 'vitest';
import { createApp, upsertSuperuser, type App, type AppOptions } from '@jobbase/server';
import { createTestDatabase, type Dialect, type TestDatabase } from './databases.js';

export const EMAIL = 'admin@example.com';
export const PASSWORD = 'correct horse battery staple';

export interface RunningApp {
  app: App;
  /** `http://127.0.0.1:PORT` */
  url: string;
}

/** Apps served on port 0 over one test database; all closed and the database dropped after a test. */
export class AppFixture {
  readonly apps: App[] = [];
  db!: TestDatabase;

  /** `postgresAdmin`: another PostgreSQL server than the test server (a throwaway cluster). */
  constructor(
    readonly dialect: Dialect,
    readonly postgresAdmin?: string,
  ) {}

  async setup(): Promise<void> {
    this.db = await createTestDatabase(this.dialect, this.postgresAdmin);
  }

  /** A listening app; fast polling and backoff unless overridden. */
  async start(options: AppOptions = {}): Promise<RunningApp> {
    const app = await createApp({
      database: this.db.url,
      pollInterval: 50,
      backoff: { base: 10, max: 50 },
      shutdownTimeout: 2_000,
      ...options,
    });
    this.apps.push(app);
    const server = await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, url: `http://127.0.0.1:${server.port}` };
  }

  /** A listening app with the test superuser, and that superuser's token. */
  async startSignedIn(options: AppOptions = {}): Promise<RunningApp & { token: string }> {
    const running = await this.start(options);
    await upsertSuperuser(running.app.jobs.store, EMAIL, PASSWORD);
    return { ...running, token: await login(running.url) };
  }

  async teardown(): Promise<void> {
    await Promise.all(this.apps.splice(0).map((a) => a.close().catch(() => undefined)));
    await this.db.drop();
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when there is none. */
  body: any;
}

export interface ApiRequest {
  method?: string;
  token?: string;
  /** Serialized as JSON. */
  json?: unknown;
  /** Sent as is (with a JSON content type unless `headers` say otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

export async function api(url: string, path: string, request: ApiRequest = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.json !== undefined || request.raw !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = request.raw ?? JSON.stringify(request.json);
  }
  if (request.token !== undefined) headers.authorization = request.token;
  const res = await fetch(url + path, { method: request.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

export async function login(url: string, identity = EMAIL, password = PASSWORD): Promise<string> {
  const res = await api(url, '/api/collections/_superusers/auth-with-password', { json: { identity, password } });
  expect(res.status, res.text).toBe(200);
  return res.body.token as string;
}

/** PocketBase's error shape, with a `{code, message}` for each named field. */
export function expectError(res: ApiResponse, status: number, fields: string[] = []): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['data', 'message', 'status']);
  expect(res.body.status).toBe(status);
  expect(res.body.message).toEqual(expect.any(String));
  expect(res.body.message.length).toBeGreaterThan(0);
  for (const field of fields) {
    expect(res.body.data[field], `data.${field} in ${res.text}`).toEqual({ code: expect.any(String), message: expect.any(String) });
  }
  if (fields.length === 0) expect(res.body.data).toEqual(expect.any(Object));
}
