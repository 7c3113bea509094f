import type { ReferenceObject, SchemaObject } from 'openapi3-ts/oas31';
import type { ZodTypeAny } from 'zod';
import { ignoreOverride, zodToJsonSchema, type Options } from 'zod-to-json-schema';

/** A zod schema published under `#/components/schemas/<name>`. */
export interface ComponentSchema {
  schema: ZodTypeAny;
  description: string;
}

const BASE_PATH = ['#', 'components'];
const DEFINITION_PATH = 'schemas';

/**
 * zod → JSON Schema (OpenAPI 3.1 speaks JSON Schema 2020-12; the 2019-09 output of
 * zod-to-json-schema is the same for everything we use). A schema registered as a component
 * becomes a `$ref` wherever it appears; anything else is written out in place, even when one
 * zod instance is reused (zod-to-json-schema would otherwise point into a sibling property,
 * e.g. `#/components/schemas/Job/properties/created`, which readers and generators handle badly).
 */
export class JsonSchemas {
  private readonly options: Partial<Options<'jsonSchema2019-09'>>;

  constructor(private readonly components: Record<string, ComponentSchema>) {
    const componentPaths = new Set(Object.keys(components).map((name) => [...BASE_PATH, DEFINITION_PATH, name].join('/')));
    this.options = {
      target: 'jsonSchema2019-09',
      basePath: BASE_PATH,
      definitionPath: DEFINITION_PATH,
      definitions: Object.fromEntries(Object.entries(components).map(([name, c]) => [name, c.schema])),
      $refStrategy: 'none',
      // zod strips unknown keys rather than refusing them, so objects stay open unless `.strict()`.
      removeAdditionalStrategy: 'strict',
      allowedAdditionalProperties: undefined,
      override: (_def, _refs, seen, forceResolution) => {
        const path = seen?.path.join('/');
        return !forceResolution && path && componentPaths.has(path) ? { $ref: path } : ignoreOverride;
      },
    };
  }

  /** Every component, each referring to the others by `$ref`. */
  componentSchemas(): Record<string, SchemaObject> {
    const converted = this.convert(this.firstComponent()).schemas as Record<string, SchemaObject>;
    return Object.fromEntries(
      Object.entries(this.components).map(([name, { description }]) => [name, { ...converted[name], description }]),
    );
  }

  /** A schema as a route uses it: a `$ref` for a component, otherwise the schema itself. */
  schemaFor(schema: ZodTypeAny): SchemaObject | ReferenceObject {
    const { schemas: _schemas, $schema: _dialect, ...jsonSchema } = this.convert(schema);
    return jsonSchema as SchemaObject | ReferenceObject;
  }

  private convert(schema: ZodTypeAny): Record<string, unknown> {
    return zodToJsonSchema(schema, this.options) as Record<string, unknown>;
  }

  private firstComponent(): ZodTypeAny {
    const first = Object.values(this.components)[0];
    if (!first) throw new Error('No component schemas to convert.');
    return first.schema;
  }
}
