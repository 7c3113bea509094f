import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { isAppRoute, isZodType, type AppRoute, type AppRouter } from '@ts-rest/core';
import { describe, expect, it } from 'vitest';
import { contract, type RouteDocs } from '@jobbase/contract';
import { API_VERSION, buildOpenApiDocument, serializeOpenApiDocument } from '@jobbase/openapi';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const documentFile = join(root, 'docs/openapi.json');
const generatedTypesFile = join(root, 'test/generated/openapi.d.ts');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const STALE = 'is stale: run `npm run openapi` and commit the result';

/** Warnings of redocly's recommended rules that the API really earns; any other finding fails. */
const ACKNOWLEDGED_WARNINGS = [
  // The project has not chosen a license yet; the document will name it once it has.
  { ruleId: 'info-license', pointer: '#/info' },
  // The health check has no client error to report: it answers 200 or nothing.
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1api~1health/get/responses' },
  // Nor has the API index: it takes no input and needs no token.
  { ruleId: 'operation-4xx-response', pointer: '#/paths/~1api/get/responses' },
];

function routes(router: AppRouter, trail: string[] = []): [string, AppRoute][] {
  return Object.entries(router).flatMap(([key, value]): [string, AppRoute][] =>
    isAppRoute(value) ? [[[...trail, key].join('.'), value]] : routes(value, [...trail, key]),
  );
}

describe('OpenAPI document', () => {
  it('docs/openapi.json matches the contract', async () => {
    const checkedIn = await readFile(documentFile, 'utf8');
    expect(checkedIn === serializeOpenApiDocument(), `docs/openapi.json ${STALE}`).toBe(true);
  });

  it('test/generated/openapi.d.ts matches docs/openapi.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jobbase-openapi-'));
    try {
      const fresh = join(dir, 'openapi.d.ts');
      await run(process.execPath, [bin('openapi-typescript'), documentFile, '--output', fresh], { cwd: root });
      const same = (await readFile(fresh, 'utf8')) === (await readFile(generatedTypesFile, 'utf8'));
      expect(same, `test/generated/openapi.d.ts ${STALE}`).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is valid OpenAPI 3.1 for swagger-parser', async () => {
    const api = await SwaggerParser.validate(documentFile);
    expect(api).toMatchObject({ openapi: '3.1.0', info: { version: API_VERSION } });
  });

  it('passes redocly lint with no errors', { timeout: 180_000 }, async () => {
    const result = await run(process.execPath, [bin('redocly'), 'lint', documentFile, '--format=json'], {
      cwd: root,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      timeout: 170_000,
    }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number; warnings: number };
      problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
    };
    const findings = report.problems.map(({ ruleId, severity, message, location }) => ({
      ruleId,
      severity,
      pointer: location[0]?.pointer,
      message,
    }));
    expect(report.totals.errors, JSON.stringify(findings, null, 2)).toBe(0);
    const acknowledged = (f: (typeof findings)[number]) =>
      ACKNOWLEDGED_WARNINGS.some((w) => w.ruleId === f.ruleId && w.pointer === f.pointer);
    const unexpected = findings.filter((f) => !acknowledged(f));
    expect(unexpected).toEqual([]);
  });

  it('has one operation per contract route, secured exactly on /api/jobs, /api/workers, /api/worker-tokens, /api/topics, /api/schedules, the token refresh and the metrics', () => {
    const document = buildOpenApiDocument();
    const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );
    const contractRoutes = routes(contract);
    expect(operations).toHaveLength(contractRoutes.length);
    for (const [key, route] of contractRoutes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      const found = document.paths?.[path]?.[route.method.toLowerCase() as 'get'];
      expect(found, key).toBeDefined();
      expect(found!.operationId).toBe((route.metadata as RouteDocs).operationId);
      expect(Object.keys(found!.responses ?? {}).sort(), key).toEqual(Object.keys(route.responses).sort());
      const secured =
        path.startsWith('/api/jobs') || path.startsWith('/api/workers') || path.startsWith('/api/worker-tokens') || path.startsWith('/api/topics') || path.startsWith('/api/schedules') || key === 'auth.authRefresh' || key === 'operations.metrics';
      expect(found!.security, key).toEqual(secured ? [{ superuserToken: [] }] : []);
    }
    expect(new Set(operations.map((o) => o.operation.operationId)).size).toBe(operations.length);
  });

  it('every example satisfies the schema it illustrates', () => {
    const document = buildOpenApiDocument();
    let checked = 0;
    for (const [key, route] of routes(contract)) {
      const path = document.paths![route.path.replace(/:(\w+)/g, '{$1}')]!;
      const operation = path[route.method.toLowerCase() as 'get']!;
      const request = (operation.requestBody as { content?: Record<string, { example?: unknown }> } | undefined)?.content?.[
        'application/json'
      ];
      if (request) {
        expect(request.example, `${key} request example`).toBeDefined();
        const body = 'body' in route ? route.body : undefined;
        expect(isZodType(body) && body.safeParse(request.example).success, `${key} request example`).toBe(true);
        checked++;
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const example = (response as { content?: Record<string, { example?: unknown }> }).content?.['application/json']?.example;
        if (example === undefined) continue;
        const schema = route.responses[Number(status)];
        const result = isZodType(schema) ? schema.safeParse(example) : null;
        expect(result?.success, `${key} ${status} example: ${JSON.stringify(result?.error?.issues)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(15);
  });

  it('says the version of @jobbase/contract', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'contract/package.json'), 'utf8')) as { version: string };
    expect(API_VERSION).toBe(pkg.version);
  });
});
