import fc, { type Arbitrary } from 'fast-check';
import { AuthRequestSchema, EnqueueBodySchema, JOB_FIELDS, ListQuerySchema } from '@jobbase/contract';
import { arbitraryFor } from './zod-arbitrary.js';

export type RouteName =
  | 'enqueue'
  | 'list'
  | 'stats'
  | 'get'
  | 'requeue'
  | 'delete'
  | 'auth'
  | 'health'
  | 'docs'
  | 'admin'
  | 'unknown';

/** One generated request. `valid` when it is exactly what the contract asks for. */
export interface FuzzRequest {
  route: RouteName;
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Text sent as the body, if any. */
  body?: string;
  /** What `body` parses to, when it is JSON. */
  json?: unknown;
  /** Index into the known jobs, for the routes that take an id. */
  jobIndex?: number;
  valid: boolean;
  /** Sent without the superuser token (or with a broken one). */
  unauthenticated: boolean;
  /** Which mutations made it, for a failure's message. */
  mutations: string[];
}

/** Strings that have broken parsers, drivers and SQL before. */
const NASTY_STRINGS = [
  "'",
  "' or '1'='1",
  "'; drop table jobs; --",
  '" or ""="',
  '\\',
  '%',
  '_',
  '%%',
  '*/ select 1 /*',
  '$1',
  '?',
  '::jsonb',
  "\\x27",
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfff',
  '\ufeff',
  '\u202e',
  '🧨💥',
  'ﷺ',
  'é'.normalize('NFD'),
  '\r\n',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'null',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  '   ',
  '',
];

const hugeNumbers: Arbitrary<unknown> = fc.constantFrom(
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  -(2 ** 63),
  2 ** 31,
  2 ** 31 - 1,
  -1,
  0.5,
  5e-324,
  -0,
  1e21,
);

/** Deeply nested arrays or objects, as text (built directly: JSON.stringify would overflow the stack first). */
const deepJsonText: Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

const longString: Arbitrary<string> = fc
  .tuple(fc.constantFrom(256, 1_000, 70_000, 1_048_577), fc.constantFrom('a', 'é', '💥', '\u0000', '"'))
  .map(([n, c]) => c.repeat(Math.ceil(n / c.length)));

export const weirdString: Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: longString },
);

/** Any value where a field should be: wrong types, huge numbers, odd strings, structures. */
export const weirdValue: Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hugeNumbers,
  weirdString,
  fc.constantFrom(null, true, false, [], {}, [null], { topic: 't' }),
  fc.array(weirdString, { maxLength: 3 }),
);

/** What to put where a whole JSON body should be. */
const weirdBodyText: Arbitrary<string> = fc.oneof(
  weirdValue.map((v) => JSON.stringify(v) ?? 'null'),
  deepJsonText,
  fc.constantFrom('', '{', '{"topic":', '[', 'nul', '{"topic":"t",}', "{'topic':'t'}", '{"topic":"t"}{"topic":"u"}', '\u0000', '{"topic":"t"', '\ufeff{"topic":"t"}'),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/json; charset=nope',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  'application/merge-patch+json',
  '*/*',
  'application/jsonx',
  ';;;',
];

/** Header names and values a client may send (ASCII, no CR/LF: fetch refuses others). */
const headerToken = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), minLength: 1, maxLength: 20 });
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('', ' ', 'x'.repeat(4_000), "' or 1=1 --", '%00', '../'),
);
const oddHeaders: Arbitrary<Record<string, string>> = fc.oneof(
  fc.dictionary(
    headerToken.filter((n) => !['host', 'connection', 'content-length', 'transfer-encoding', 'expect', 'keep-alive', 'upgrade', 'te', 'trailer'].includes(n)),
    headerValue,
    { maxKeys: 3 },
  ),
  fc.constantFrom<Record<string, string>>(
    { 'content-encoding': 'gzip' },
    { 'content-encoding': 'deflate' },
    { 'content-encoding': 'br' },
    { 'content-encoding': 'identity' },
    { 'content-encoding': 'x-unknown' },
    { accept: 'text/html' },
    { accept: 'application/xml' },
    { 'accept-charset': 'utf-16' },
    { 'x-forwarded-for': '1.2.3.4' },
    { 'x-http-method-override': 'DELETE' },
    { origin: 'https://evil.example' },
    { cookie: 'a=b; c=d' },
    { range: 'bytes=0-1' },
    { 'if-none-match': '*' },
  ),
);

const ODD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND', 'M-SEARCH', 'PURGE', 'LINK'];

/** How a field-level mutation changes a JSON object body. */
function mutateObject(base: Record<string, unknown>): Arbitrary<{ value: unknown; mutation: string }> {
  const keys = Object.keys(base);
  const some = keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('topic');
  return fc.oneof(
    some.map((k) => {
      const { [k]: _dropped, ...rest } = base;
      return { value: rest, mutation: `drop ${k}` };
    }),
    fc.tuple(fc.oneof(headerToken, weirdString), weirdValue).map(([k, v]) => ({ value: { ...base, [k]: v }, mutation: `extra ${JSON.stringify(k).slice(0, 40)}` })),
    fc.tuple(fc.constantFrom('topic', 'payload', 'run_at', 'max_retries', 'identity', 'password'), weirdValue).map(([k, v]) => ({
      value: { ...base, [k]: v },
      mutation: `replace ${k}`,
    })),
    fc.tuple(fc.constantFrom('run_at', 'max_retries'), hugeNumbers).map(([k, v]) => ({ value: { ...base, [k]: v }, mutation: `huge ${k}` })),
  );
}

/** A JSON body: valid per `schema`, or mutated. */
function jsonBody(schema: Arbitrary<unknown>): Arbitrary<{ body: string; json?: unknown; valid: boolean; mutations: string[] }> {
  return fc.oneof(
    { weight: 4, arbitrary: schema.map((v) => ({ body: JSON.stringify(v), json: v, valid: true, mutations: [] })) },
    {
      weight: 2,
      arbitrary: schema.chain((v) => mutateObject(v as Record<string, unknown>)).map(({ value, mutation }) => ({
        body: JSON.stringify(value),
        json: value,
        valid: false,
        mutations: [mutation],
      })),
    },
    {
      weight: 1,
      arbitrary: schema.chain((v) =>
        fc.tuple(fc.constantFrom('payload'), deepJsonText).map(([k, deep]) => {
          const text = JSON.stringify(v);
          return { body: `${text.slice(0, -1)}${text.length > 2 ? ',' : ''}"${k}":${deep}}`, valid: false, mutations: ['deep payload'] };
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        weirdBodyText.map((body) => ({ body, valid: false, mutations: ['weird body'] })),
        schema.chain((v) =>
          fc.integer({ min: 0, max: 100 }).map((cut) => {
            const text = JSON.stringify(v);
            return { body: text.slice(0, Math.floor((text.length * cut) / 100)), valid: false, mutations: ['truncated'] };
          }),
        ),
      ),
    },
  );
}

const enqueueBodies = arbitraryFor(EnqueueBodySchema);
/**
 * `fields` is drawn from the job's fields: its schema is a refinement over any string, which
 * the generic arbitrary can only filter, and a random string is almost never a list of field
 * names (fast-check spun minutes on one).
 */
const listQueries = fc
  .tuple(
    arbitraryFor(ListQuerySchema.omit({ fields: true })) as Arbitrary<Record<string, unknown>>,
    fc.option(fc.subarray([...JOB_FIELDS], { minLength: 1 }).map((f) => f.join(',')), { nil: undefined }),
  )
  .map(([query, fields]) => (fields === undefined ? query : { ...query, fields }));
const authBodies = arbitraryFor(AuthRequestSchema);

/** Every UTF-8 byte as %XX (a lone surrogate becomes U+FFFD's bytes; encodeURIComponent would throw). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

function queryString(params: [string, string][]): string {
  return params.length === 0 ? '' : `?${params.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')}`;
}

const listQuery: Arbitrary<{ query: string; valid: boolean; mutations: string[] }> = fc.oneof(
  listQueries.map((q) => ({ query: queryString(Object.entries(q).map(([k, v]) => [k, String(v)])), valid: true, mutations: [] })),
  fc
    .tuple(
      listQueries,
      fc.constantFrom('topic', 'status', 'limit', 'offset', 'sort', 'filter', 'expand', 'fields', 'perPage'),
      fc.oneof(weirdString, hugeNumbers.map(String), fc.constantFrom('1.5', '-1', '0', '501', '1e3', ' 5', '5 ', '0x1f', 'Infinity', '[]', 'pending,failed', 'PENDING')),
    )
    .map(([q, k, v]) => ({
      query: queryString([...Object.entries(q).filter(([key]) => key !== k).map(([key, val]): [string, string] => [key, String(val)]), [k, v]]),
      valid: false,
      mutations: [`query ${k}`],
    })),
  fc.constantFrom(
    '?limit=1&limit=2',
    '?status=pending&status=failed',
    '?topic[]=a',
    '?topic[$ne]=a',
    '?limit[a]=1',
    '?offset=%00',
    '?topic=%E0%A4%A',
    '?topic=%',
    '?topic=%ZZ',
    '?=&&=&',
    '?topic',
    `?offset=${'9'.repeat(400)}`,
    `?topic=${'a'.repeat(6_000)}`,
  ).map((query) => ({ query, valid: false, mutations: ['odd query'] })),
);

/** An id for the routes that take one: a known job's (by index), or something else entirely. */
const idSegment: Arbitrary<{ id?: string; jobIndex?: number; mutations: string[] }> = fc.oneof(
  { weight: 4, arbitrary: fc.nat({ max: 10_000 }).map((jobIndex) => ({ jobIndex, mutations: [] })) },
  { weight: 1, arbitrary: fc.uuid().map((id) => ({ id, mutations: ['random uuid'] })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        weirdString.filter((s) => s.length < 2_000).map((s) => percentEncode(s)),
        fc.constantFrom('%', '%zz', '%00', '..', '.', '%2e%2e%2f', 'stats', 'enqueue', '%E0%A4%A', 'a/b', '0', '-1', ';', '%20', 'a'.repeat(5_000)),
      )
      .map((id) => ({ id, mutations: ['odd id'] })),
  },
);

export interface Session {
  token: string;
}

/** A token as the server issued it, or a broken one. */
function authHeader(token: string): Arbitrary<{ headers: Record<string, string>; unauthenticated: boolean; mutations: string[] }> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(token, `Bearer ${token}`).map((t) => ({ headers: { authorization: t } as Record<string, string>, unauthenticated: false, mutations: [] as string[] })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic YTpi', `${token}x`, token.slice(0, -3), `Bearer  ${token} extra`, token.split('.').reverse().join('.')),
          headerValue,
        )
        .map((t) => ({ headers: t === '' ? {} : { authorization: t }, unauthenticated: true, mutations: ['bad token'] }) as { headers: Record<string, string>; unauthenticated: boolean; mutations: string[] }),
    },
  );
}

/** Every route of the contract and around it, valid and mutated. */
export function fuzzRequest(session: Session): Arbitrary<FuzzRequest> {
  const auth = authHeader(session.token);
  const contentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant({ value: 'application/json', mutations: [] as string[] }) },
    { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES).map((value) => ({ value, mutations: [`content-type ${value}`] })) },
  );
  const extraHeaders = fc.oneof(
    { weight: 10, arbitrary: fc.constant({ headers: {} as Record<string, string>, mutations: [] as string[] }) },
    { weight: 1, arbitrary: oddHeaders.map((headers) => ({ headers, mutations: ['odd headers'] })) },
  );
  const method = (expected: string) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.constant({ value: expected, mutations: [] as string[] }) },
      { weight: 1, arbitrary: fc.constantFrom(...ODD_METHODS).map((value) => ({ value, mutations: value === expected ? [] : [`method ${value}`] })) },
    );

  const withBody = (route: RouteName, path: string, expected: string, bodies: ReturnType<typeof jsonBody>, needsToken: boolean) =>
    fc.tuple(method(expected), bodies, contentType, needsToken ? auth : fc.constant({ headers: {}, unauthenticated: false, mutations: [] as string[] }), extraHeaders).map(
      ([m, b, ct, a, extra]): FuzzRequest => ({
        route,
        method: m.value,
        path,
        headers: { 'content-type': ct.value, ...a.headers, ...extra.headers },
        body: m.value === 'GET' || m.value === 'HEAD' ? undefined : b.body,
        json: b.json,
        valid: b.valid && m.mutations.length === 0 && ct.mutations.length === 0 && extra.mutations.length === 0,
        unauthenticated: a.unauthenticated,
        mutations: [...m.mutations, ...b.mutations, ...ct.mutations, ...a.mutations, ...extra.mutations],
      }),
    );

  const withoutBody = (route: RouteName, paths: Arbitrary<{ path: string; jobIndex?: number; valid: boolean; mutations: string[] }>, expected: string, needsToken: boolean) =>
    fc.tuple(method(expected), paths, needsToken ? auth : fc.constant({ headers: {}, unauthenticated: false, mutations: [] as string[] }), extraHeaders, fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: weirdBodyText })).map(
      ([m, p, a, extra, junk]): FuzzRequest => ({
        route,
        method: m.value,
        path: p.path,
        headers: { ...a.headers, ...extra.headers, ...(junk !== null ? { 'content-type': 'application/json' } : {}) },
        body: junk !== null && m.value !== 'GET' && m.value !== 'HEAD' ? junk : undefined,
        jobIndex: p.jobIndex,
        valid: p.valid && m.mutations.length === 0 && extra.mutations.length === 0 && junk === null,
        unauthenticated: a.unauthenticated,
        mutations: [...m.mutations, ...p.mutations, ...a.mutations, ...extra.mutations, ...(junk !== null ? ['unexpected body'] : [])],
      }),
    );

  const idPath = (suffix: string) =>
    idSegment.map(({ id, jobIndex, mutations }) => ({
      path: `/api/jobs/${id ?? '{id}'}${suffix}`,
      jobIndex,
      valid: mutations.length === 0,
      mutations,
    }));

  return fc.oneof(
    { weight: 6, arbitrary: withBody('enqueue', '/api/jobs/enqueue', 'POST', jsonBody(enqueueBodies), true) },
    { weight: 3, arbitrary: withoutBody('list', listQuery.map((q) => ({ path: `/api/jobs${q.query}`, valid: q.valid, mutations: q.mutations })), 'GET', true) },
    { weight: 1, arbitrary: withoutBody('stats', fc.constant({ path: '/api/jobs/stats', valid: true, mutations: [] }), 'GET', true) },
    { weight: 2, arbitrary: withoutBody('get', idPath(''), 'GET', true) },
    { weight: 2, arbitrary: withoutBody('requeue', idPath('/requeue'), 'POST', true) },
    { weight: 2, arbitrary: withoutBody('delete', idPath(''), 'DELETE', true) },
    { weight: 1, arbitrary: withBody('auth', '/api/collections/_superusers/auth-with-password', 'POST', jsonBody(authBodies), false) },
    { weight: 1, arbitrary: withoutBody('health', fc.constant({ path: '/api/health', valid: true, mutations: [] }), 'GET', false) },
    {
      weight: 1,
      arbitrary: withoutBody('docs', fc.constantFrom('/api/docs', '/api/docs/openapi.json').map((path) => ({ path, valid: true, mutations: [] })), 'GET', false),
    },
    {
      weight: 1,
      arbitrary: withoutBody('admin', fc.constantFrom('/_/', '/_/index.html', '/_', '/_/../package.json', '/_/%2e%2e/package.json', '/_/nope.js').map((path) => ({ path, valid: false, mutations: [] })), 'GET', false),
    },
    {
      weight: 1,
      arbitrary: withoutBody(
        'unknown',
        fc
          .oneof(
            fc.constantFrom('/', '/api', '/api/', '/api/jobs/', '/api/jobs/enqueue/x', '/api/collections/users/auth-with-password', '/api/jobs/stats/x', '//api/jobs', '/api/JOBS', '/api/jobs%2fstats', '/.env', '/api/health/../jobs'),
            weirdString.filter((s) => s.length < 2_000).map((s) => `/api/${percentEncode(s)}`),
          )
          .map((path) => ({ path, valid: false, mutations: ['unknown route'] })),
        'GET',
        true,
      ),
    },
  );
}
