/** The server the PostgreSQL tests use; each test file creates and drops its own database on it. */
export function postgresAdminUrl(): string {
  return process.env.JOBBASE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

export function postgresUrlFor(database: string): string {
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}
