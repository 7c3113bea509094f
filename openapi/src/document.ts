import {
  ApiIndexSchema,
  AuthRequestSchema,
  AuthResponseSchema,
  contract,
  EnqueueBodySchema,
  ErrorSchema,
  HealthSchema,
  JobPageSchema,
  JobSchema,
  JobStatusSchema,
  RouteMetadataSchema,
  ScheduleSchema,
  StatsSchema,
  SuperuserSchema,
  TopicInfoSchema,
  TopicListSchema,
  TopicPatchSchema,
  WorkerTokenSchema,
  type Contract,
  type ErrorBody,
  type RouteMetadata,
} from '@jobbase/contract';
import { ContractNoBody, isAppRoute, isAppRouteOtherResponse, isZodType, type AppRoute, type AppRouter } from '@ts-rest/core';
import {
  OpenApiBuilder,
  type MediaTypeObject,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type ReferenceObject,
  type ResponseObject,
  type SchemaObject,
  type ServerObject,
} from 'openapi3-ts/oas31';
import { z, type ZodTypeAny } from 'zod';
import { JsonSchemas, type ComponentSchema } from './json-schemas.js';

/** The API's version; follows `@jobbase/contract`'s (a test keeps them equal). */
export const API_VERSION = '0.1.0';

/** Where the server publishes the document and the rendered reference. */
export const OPENAPI_DOCUMENT_PATH = '/api/docs/openapi.json';
export const API_REFERENCE_PATH = '/api/docs';

const SECURITY_SCHEME = 'superuserToken';

/**
 * The schemas published as named components. Which schemas get a name is a documentation
 * choice; their shapes come from `@jobbase/contract`.
 */
const COMPONENTS: Record<string, ComponentSchema> = {
  Job: { schema: JobSchema, description: 'A job as the API returns it.' },
  JobStatus: {
    schema: JobStatusSchema,
    description: '`pending` → `processing` → `completed`; back to `pending` for a retry; `failed` once retries are exhausted.',
  },
  JobPage: { schema: JobPageSchema, description: 'A page of jobs and the number of jobs matching the filters.' },
  Stats: { schema: StatsSchema, description: 'Jobs in each status.' },
  EnqueueBody: { schema: EnqueueBodySchema, description: 'A job to enqueue.' },
  Error: {
    schema: ErrorSchema,
    description: 'PocketBase’s error shape. `data` maps a field of the request to its first problem; it is empty when no single field is at fault.',
  },
  AuthRequest: { schema: AuthRequestSchema, description: 'A superuser’s email (`identity`) and password.' },
  AuthResponse: { schema: AuthResponseSchema, description: 'A token and the superuser it belongs to.' },
  Superuser: { schema: SuperuserSchema, description: 'A superuser record, PocketBase-style.' },
  Health: { schema: HealthSchema, description: 'PocketBase’s health answer.' },
  ApiIndex: { schema: ApiIndexSchema, description: 'Where things are on this server.' },
  Topic: { schema: TopicInfoSchema, description: 'A topic’s figures and the settings every process applies to it.' },
  TopicList: { schema: TopicListSchema, description: 'Every topic with jobs, a handler or settings.' },
  TopicPatch: { schema: TopicPatchSchema, description: 'A change of a topic’s cap and rate limit.' },
  Schedule: { schema: ScheduleSchema, description: 'A recurring schedule as the API returns it.' },
  WorkerToken: { schema: WorkerTokenSchema, description: 'A remote worker’s token as listed: never its secret nor its hash.' },
};

/** One tag per router group of the contract; a new group without a description fails to compile. */
const TAGS: Record<keyof Contract, string> = {
  jobs: 'The queue: enqueue, inspect, requeue and delete jobs. Superusers only.',
  runningJobs: 'Jobs while they run: cancel one, wait for one to finish. Superusers only.',
  auth: 'Superuser sign-in, compatible with PocketBase and its SDK.',
  system: 'The server itself.',
  operations: 'Running the queue: bulk actions by filter, live job events, Prometheus metrics.',
  topics: 'Topic control: each topic’s figures, pause and resume, a cap on running jobs and a rate limit, applied by every process. Superusers only.',
  schedules: 'Recurring schedules: cron expressions that make one job per tick, exactly once across processes. Superusers only.',
  workers: 'Remote workers: claim jobs, heartbeat them and finish them on their lock token, from any language. Superusers, or worker tokens for their topics.',
  workerTokens: 'Remote workers’ tokens: list, create (the secret is answered once) and revoke them, as `jobbase token` does. Superusers only; a worker token is a 403 here.',
};

/*
 * The generic answers' examples live here rather than in the contract's examples: only the
 * document uses them, for routes that leave a 401 or 404 undescribed.
 */
const unauthorizedExample = {
  status: 401,
  message: 'The request requires valid record authorization token.',
  data: {},
} satisfies ErrorBody;

const notFoundExample = {
  status: 404,
  message: "The requested resource wasn't found.",
  data: {},
} satisfies ErrorBody;

/** Used where a route does not describe a response itself. */
const GENERIC_RESPONSES: Partial<Record<number, { description: string; example: unknown }>> = {
  401: { description: 'No token, or an invalid or expired one.', example: unauthorizedExample },
  404: { description: 'No job has this id.', example: notFoundExample },
};

const DESCRIPTION = `The HTTP API of Jobbase, a persistent job queue on SQLite or PostgreSQL.

Sign in with \`POST /api/collections/_superusers/auth-with-password\` and send the token in
\`Authorization\` on every \`/api/jobs\` and \`/api/topics\` route. Bodies are JSON with snake_case fields; times are
ISO 8601 UTC; errors have PocketBase's \`{status, message, data}\` shape.

Generated from the ts-rest contract in \`@jobbase/contract\`.`;

export interface OpenApiDocumentOptions {
  /**
   * Where the API is. The checked-in document names `jobbase serve`'s default address; a server
   * publishing its own document passes `[{ url: '/' }]`, which readers resolve against the
   * document's own origin.
   */
  servers?: ServerObject[];
}

const DEFAULT_SERVERS: ServerObject[] = [
  { url: 'http://127.0.0.1:8090', description: '`jobbase serve` on its default address.' },
];

/** The OpenAPI 3.1 document of every route in the contract. Pure: no I/O, same output every call. */
export function buildOpenApiDocument({ servers = DEFAULT_SERVERS }: OpenApiDocumentOptions = {}): OpenAPIObject {
  const schemas = new JsonSchemas(COMPONENTS);
  const builder = OpenApiBuilder.create({
    openapi: '3.1.0',
    info: { title: 'Jobbase API', version: API_VERSION, description: DESCRIPTION },
    servers,
    paths: {},
  }).addSecurityScheme(SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description:
      'A superuser token from `authWithPassword`, sent as `Authorization: Bearer <token>`. Like PocketBase, the server also accepts the bare token (`Authorization: <token>`). The remote workers’ routes (the `workers` tag) also take a worker token (`jobbase token create --role worker`, `jbw_…`), limited to its topics; a worker token on any other route is a 403.',
  });
  for (const [name, description] of Object.entries(TAGS)) builder.addTag({ name, description });
  for (const [name, schema] of Object.entries(schemas.componentSchemas())) builder.addSchema(name, schema);

  const operationIds = new Set<string>();
  const operations: Record<string, Record<string, OperationObject>> = {};
  for (const { group, key, route } of routesOf(contract)) {
    const operation = operationFor(group, key, route, schemas);
    if (operationIds.has(operation.operationId)) throw new Error(`operationId ${operation.operationId} is used twice.`);
    operationIds.add(operation.operationId);
    const path = openApiPath(route.path);
    (operations[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  for (const [path, item] of Object.entries(operations)) builder.addPath(path, item);
  return builder.getSpec();
}

/** The document as checked in and served: two-space JSON and a final newline, so diffs stay readable. */
export function serializeOpenApiDocument(options?: OpenApiDocumentOptions): string {
  return `${JSON.stringify(buildOpenApiDocument(options), null, 2)}\n`;
}

interface RouteEntry {
  group: string;
  key: string;
  route: AppRoute;
}

/** Every route of a router, depth first, in the order the contract declares them. */
function* routesOf(router: AppRouter, trail: string[] = []): Generator<RouteEntry> {
  for (const [key, value] of Object.entries(router)) {
    if (isAppRoute(value)) yield { group: trail[0] ?? key, key: [...trail, key].join('.'), route: value };
    else yield* routesOf(value, [...trail, key]);
  }
}

type Operation = OperationObject & { operationId: string };

function operationFor(group: string, key: string, route: AppRoute, schemas: JsonSchemas): Operation {
  const docs = routeDocsOf(key, route);
  if (!route.summary || !route.description) throw new Error(`Route ${key} needs a summary and a description.`);
  const parameters = [...pathParameters(key, route, schemas), ...queryParameters(key, route, docs, schemas)];
  const body = 'body' in route && isZodType(route.body) ? route.body : undefined;
  const requestBody = body && {
    required: true,
    content: requestContent(schemas.schemaFor(body), docs),
  };
  return {
    operationId: docs.operationId,
    tags: [group],
    summary: route.summary,
    description: route.description,
    security: docs.security === 'superuser' ? [{ [SECURITY_SCHEME]: [] }] : [],
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: Object.fromEntries(
      Object.entries(route.responses).map(([status, response]) => [
        status,
        responseFor(key, Number(status), response, docs, schemas),
      ]),
    ),
  };
}

function routeDocsOf(key: string, route: AppRoute): RouteMetadata {
  const parsed = RouteMetadataSchema.safeParse(route.metadata);
  if (!parsed.success) {
    throw new Error(`Route ${key} needs metadata: routeDocs({ operationId, … }): ${parsed.error.issues[0]?.message}`);
  }
  return parsed.data;
}

function responseFor(
  key: string,
  status: number,
  response: unknown,
  docs: RouteMetadata,
  schemas: JsonSchemas,
): ResponseObject {
  const generic = GENERIC_RESPONSES[status];
  const description = docs.responses?.[status] ?? generic?.description;
  if (!description) throw new Error(`Route ${key} does not describe its ${status} response.`);
  if (response === ContractNoBody) return { description };
  if (isAppRouteOtherResponse(response as never)) {
    const other = response as { contentType: string; body: unknown };
    if (!isZodType(other.body)) throw new Error(`Route ${key}'s ${status} response body is not a zod schema.`);
    const content = { schema: schemas.schemaFor(other.body), ...example(docs.examples?.responses?.[status]) };
    return { description, content: { [other.contentType]: content } };
  }
  if (!isZodType(response)) throw new Error(`Route ${key}'s ${status} response is not a zod schema.`);
  const content = {
    schema: schemas.schemaFor(response),
    ...example(docs.examples?.responses?.[status] ?? generic?.example),
  };
  return { description, content: { 'application/json': content } };
}

/** The body's schema under each media type the route takes; the example goes with JSON. */
function requestContent(schema: SchemaObject | ReferenceObject, docs: RouteMetadata): Record<string, MediaTypeObject> {
  const types = docs.requestContentTypes ?? ['application/json'];
  return Object.fromEntries(
    types.map((type) => [type, { schema, ...(type === 'application/json' ? example(docs.examples?.request) : {}) }]),
  );
}

function example(value: unknown): { example?: unknown } {
  return value === undefined ? {} : { example: value };
}

/** `/api/jobs/:id` → `/api/jobs/{id}` */
function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParameters(key: string, route: AppRoute, schemas: JsonSchemas): ParameterObject[] {
  const names = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  const shape = objectShape(route.pathParams);
  return names.map((name) => {
    const field = shape[name];
    if (!field) throw new Error(`Route ${key} has no schema for its path parameter ${name}.`);
    return { name, in: 'path', required: true, description: field.description, schema: schemas.schemaFor(field) };
  });
}

function queryParameters(key: string, route: AppRoute, docs: RouteMetadata, schemas: JsonSchemas): ParameterObject[] {
  return Object.entries(objectShape(route.query)).map(([name, field]) => {
    const description = docs.parameters?.[name] ?? field.description;
    if (!description) throw new Error(`Route ${key} does not describe its query parameter ${name}.`);
    return {
      name,
      in: 'query',
      required: !field.isOptional(),
      description,
      schema: schemas.schemaFor(valueSchema(field)),
    };
  });
}

/**
 * What a query parameter's value must be. The optional wrapper says "may be absent", which
 * `required: false` already does; a preprocess step (an empty value taken as absent) is the
 * description's to say. Written out, either would only clutter the schema.
 */
function valueSchema(field: ZodTypeAny): ZodTypeAny {
  if (field instanceof z.ZodEffects && field._def.effect.type === 'preprocess') return valueSchema(field.innerType());
  if (field instanceof z.ZodOptional) return valueSchema(field.unwrap());
  return field;
}

function objectShape(schema: unknown): Record<string, ZodTypeAny> {
  if (schema === undefined || schema === null) return {};
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, ZodTypeAny>;
  throw new Error('Path parameters and query must be zod objects.');
}
