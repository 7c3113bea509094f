import { redactDatabaseUrl } from '@jobbase/server';
import { describe, expect, it } from 'vitest';

/** What the CLI prints of a database URL (test/database-url-secrets.test.ts runs the CLI itself). */
describe('redactDatabaseUrl', () => {
  it('shows the password as ***, in the user part and in query parameters; keeps the rest', () => {
    const cases: [string, string][] = [
      ['postgres://jobbase:S3cret@db:5432/jobs', 'postgres://jobbase:***@db:5432/jobs'],
      ['postgresql://:S3cret@db/jobs', 'postgresql://:***@db/jobs'],
      ['postgres://u:S3cret@[::1]:5432/jobs', 'postgres://u:***@[::1]:5432/jobs'],
      // Unescaped, these characters make the URL ambiguous: all of the password is hidden anyway.
      ['postgres://u:S3#c?r/e@t@db/jobs', 'postgres://u:***@db/jobs'],
      ['postgres://u@db/jobs?sslmode=require&password=S3cret&sslpassword=S3cret', 'postgres://u@db/jobs?sslmode=require&password=***&sslpassword=***'],
      ['host=db password=S3cret dbname=jobs', 'host=db password=*** dbname=jobs'],
      // Nothing to hide.
      ['postgres://jobbase@db:5432/jobs', 'postgres://jobbase@db:5432/jobs'],
      ['postgres://[::1]:5432/jobs', 'postgres://[::1]:5432/jobs'],
      ['sqlite:./jb_data/data.db', 'sqlite:./jb_data/data.db'],
      ['./a:b@c.db', './a:b@c.db'],
    ];
    for (const [url, shown] of cases) expect(redactDatabaseUrl(url), url).toBe(shown);
  });
});
