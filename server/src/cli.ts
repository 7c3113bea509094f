import { JobsError } from './errors.js';
import { buildProgram } from './cli/program.js';
import { UsageError } from './cli/usage-error.js';

// The CLI's entry point (npm's `jobbase` bin starts it through server/bin/jobbase.js).
try {
  await buildProgram().parseAsync();
  process.exit(0);
} catch (err) {
  // Our errors and the system's (EADDRINUSE, ECONNREFUSED…) say it all in their message; a bug gets its stack.
  const plain =
    err instanceof JobsError || err instanceof UsageError || err instanceof RangeError || typeof (err as { code?: unknown }).code === 'string';
  console.error(plain ? `Error: ${(err as Error).message}` : err);
  process.exit(1);
}
