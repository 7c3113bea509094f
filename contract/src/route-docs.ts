import { z } from 'zod';

/**
 * What a route says about itself beyond its shapes, carried in ts-rest's `metadata` so the
 * contract stays the one place a route is described. `@jobbase/openapi` reads it; here it is
 * plain data, so the contract needs no OpenAPI tooling.
 */
export const RouteDocsSchema = z.object({
  /** Stable and unique: generated clients name their methods after it. */
  operationId: z.string().regex(/^[a-z][A-Za-z0-9]*$/, 'operationId must be camelCase'),
  /** Media types the request body may be sent as; only `application/json` when left out. */
  requestContentTypes: z.array(z.string()).min(1).optional(),
  /** Descriptions of query parameters, by name. */
  parameters: z.record(z.string()).optional(),
  /** Response descriptions by status; statuses left out get the generic one. */
  responses: z.record(z.string()).optional(),
  /** Examples (from the seed where it has one); a test checks each against its schema. */
  examples: z
    .object({ request: z.unknown().optional(), responses: z.record(z.unknown()).optional() })
    .optional(),
});
export type RouteDocs = z.infer<typeof RouteDocsSchema>;

/** Set on a whole router (ts-rest merges it into each route's metadata): who may call its routes. */
export const RouterDocsSchema = z.object({
  /** `superuser`: the request needs a superuser's token in `Authorization`. */
  security: z.literal('superuser'),
});
export type RouterDocs = z.infer<typeof RouterDocsSchema>;

/** A route's metadata as the generator sees it: its own docs and its router's. */
export const RouteMetadataSchema = RouteDocsSchema.merge(RouterDocsSchema.partial());
export type RouteMetadata = z.infer<typeof RouteMetadataSchema>;

/** Identity, for type-checking metadata where it is written. */
export function routeDocs(docs: RouteDocs): RouteDocs {
  return docs;
}
