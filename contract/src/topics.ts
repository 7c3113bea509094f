import { z, type ZodTypeAny } from 'zod';
import { TopicSchema } from './schemas.js';

/** Topic name → the zod schema of its payload. */
export type TopicSchemas = Record<string, ZodTypeAny>;

/** Per-field problems, keyed as the error body's `data` is: `payload.to`, `payload` for the whole. */
export type PayloadProblems = Record<string, { code: string; message: string }>;

/** Why a payload does not fit its topic's schema: the error's message and its field problems. */
export interface PayloadRejection {
  message: string;
  fields: PayloadProblems;
}

/**
 * Payload schemas by topic, as `defineTopics` returns them. Given to the engine
 * (`createJobs`/`createApp`) and to the client (`createJobsClient`), it types and validates the
 * payloads of the declared topics; every other topic keeps taking any JSON payload.
 */
export interface Topics<S extends TopicSchemas = TopicSchemas> {
  /** The schemas as declared, by topic. */
  readonly schemas: S;
  /** The payload schema of a declared topic; undefined for any other topic. */
  schemaOf(topic: string): ZodTypeAny | undefined;
  /**
   * Null when the payload fits (or the topic is not declared); otherwise its problems. The
   * payload is checked as it will be stored: an omitted one is `{}`.
   */
  checkPayload(topic: string, payload: unknown): PayloadRejection | null;
}

/** The schemas behind a `Topics` value; `{}` (no declared topic) for anything else. */
export type TopicSchemasOf<X> = X extends Topics<infer S> ? S : {};

/** A declared topic's name. */
export type TopicName<S extends TopicSchemas> = keyof S & string;

/** What a handler of topic `K` gets: the schema's output for a declared topic, `unknown` otherwise. */
export type TopicPayload<S extends TopicSchemas, K extends string> = K extends keyof S ? z.output<S[K]> : unknown;

/** What an enqueue of topic `K` takes: the schema's input for a declared topic, any value otherwise. */
export type TopicPayloadInput<S extends TopicSchemas, K extends string> = K extends keyof S ? z.input<S[K]> : unknown;

/**
 * The payload argument of `enqueue(topic, …)`: required and typed for a declared topic, optional
 * and `unknown` otherwise (an omitted payload is `{}`, which a declared schema must accept).
 */
export type EnqueuePayloadArgs<S extends TopicSchemas, K extends string> = K extends keyof S
  ? [payload: z.input<S[K]>]
  : [payload?: unknown];

/**
 * Declares the payload schema of each topic, once, for the server and the client alike:
 *
 *     const topics = defineTopics({ send_email: z.object({ to: z.string().email(), subject: z.string() }) });
 *
 * Schemas describe JSON (the payload is stored as JSON and parsed again before a handler runs),
 * so prefer `z.string().datetime()` to `z.date()`. Names follow the API's topic rules.
 */
export function defineTopics<S extends TopicSchemas>(schemas: S): Topics<S> {
  const byTopic = new Map<string, ZodTypeAny>();
  for (const [topic, schema] of Object.entries(schemas)) {
    const name = TopicSchema.safeParse(topic);
    if (!name.success) throw new TypeError(`defineTopics: "${topic}" is not a valid topic: ${name.error.issues[0]?.message}`);
    if (!(schema instanceof z.ZodType)) throw new TypeError(`defineTopics: the schema of "${topic}" is not a zod schema.`);
    byTopic.set(topic, schema);
  }
  // A Map, not the object: a topic named `constructor` or `__proto__` must not find Object's own.
  const schemaOf = (topic: string) => byTopic.get(topic);
  return Object.freeze({
    schemas: Object.freeze({ ...schemas }),
    schemaOf,
    checkPayload(topic: string, payload: unknown): PayloadRejection | null {
      const schema = schemaOf(topic);
      if (!schema) return null;
      const parsed = schema.safeParse(payload === undefined ? {} : payload);
      return parsed.success ? null : payloadRejection(parsed.error);
    },
  });
}

/** zod's issues as field problems under `payload`, the first problem of each field only. */
function payloadRejection(error: z.ZodError): PayloadRejection {
  const fields: PayloadProblems = {};
  for (const issue of error.issues) {
    fields[['payload', ...issue.path].join('.')] ??= { code: issue.code, message: issue.message };
  }
  // The same form as the server's other validation messages: `field: problem; field: problem`.
  const message = Object.entries(fields)
    .map(([field, problem]) => `${field}: ${problem.message}`)
    .join('; ');
  return { message, fields };
}
