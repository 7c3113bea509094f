/** The server the PostgreSQL tests use; each test file creates and drops its own database on it. */
export function postgresAdminUrl(): string {
  return process.env.JOBBASE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** The URL of `database` on the test server (or on the server `admin` names). */
export function postgresUrlFor(database: string, admin = postgresAdminUrl()): string {
  const url = new URL(admin);
  url.pathname = `/${database}`;
  return url.toString();
}
