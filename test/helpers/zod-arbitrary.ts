import fc, { type Arbitrary } from 'fast-check';
import type { ZodTypeAny } from 'zod';

/** The years an ISO 8601 date-time with a four-digit year can name. */
const MIN_DATE = new Date('0000-01-01T00:00:00.000Z');
const MAX_DATE = new Date('9999-12-31T23:59:59.999Z');

interface Check {
  kind: string;
  value?: number;
  inclusive?: boolean;
  offset?: boolean;
}

/**
 * Values a zod schema accepts, as a fast-check arbitrary: the contract's own schemas drive the
 * fuzzer's "valid" requests, so they follow the contract as it changes. Covers what the
 * contract uses (objects, strings with length/datetime/uuid checks, numbers with int/min/max,
 * enums, optional, default, refinements, unknown); refinements filter, so keep them cheap.
 */
export function arbitraryFor(schema: ZodTypeAny): Arbitrary<unknown> {
  const def = schema._def as Record<string, any>;
  switch (def.typeName) {
    case 'ZodObject': {
      const shape = (schema as unknown as { shape: Record<string, ZodTypeAny> }).shape;
      const required: string[] = [];
      const fields: Record<string, Arbitrary<unknown>> = {};
      for (const [key, field] of Object.entries(shape)) {
        fields[key] = arbitraryFor(field);
        if (!field.isOptional()) required.push(key);
      }
      return fc.record(fields, { requiredKeys: required }) as Arbitrary<unknown>;
    }
    case 'ZodOptional':
    case 'ZodNullable':
      return arbitraryFor(def.innerType);
    case 'ZodDefault':
      return arbitraryFor(def.innerType);
    case 'ZodEffects':
      return arbitraryFor(def.schema).filter((v) => schema.safeParse(v).success);
    case 'ZodEnum':
      return fc.constantFrom(...(def.values as string[]));
    case 'ZodLiteral':
      return fc.constant(def.value);
    case 'ZodUnknown':
    case 'ZodAny':
      return fc.jsonValue({ maxDepth: 4 });
    case 'ZodBoolean':
      return fc.boolean();
    case 'ZodNumber':
      return numberFor(def.checks as Check[]);
    case 'ZodString':
      return stringFor(def.checks as Check[]);
    case 'ZodArray':
      return fc.array(arbitraryFor(def.type), { maxLength: 5 });
    case 'ZodRecord':
      return fc.dictionary(fc.string({ maxLength: 10 }), arbitraryFor(def.valueType), { maxKeys: 5 });
    default:
      throw new Error(`arbitraryFor: ${String(def.typeName)} is not supported`);
  }
}

function numberFor(checks: Check[]): Arbitrary<number> {
  const min = checks.find((c) => c.kind === 'min')?.value;
  const max = checks.find((c) => c.kind === 'max')?.value;
  if (checks.some((c) => c.kind === 'int')) {
    const lo = Math.max(min ?? -(2 ** 31), Number.MIN_SAFE_INTEGER);
    const hi = Math.min(max ?? 2 ** 31 - 1, Number.MAX_SAFE_INTEGER);
    // Mostly small, sometimes anywhere in range, always the edges now and then.
    return fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: lo, max: Math.min(hi, lo + 100) }) },
      { weight: 1, arbitrary: fc.integer({ min: Math.max(lo, -(2 ** 31)), max: Math.min(hi, 2 ** 31 - 1) }) },
      { weight: 1, arbitrary: fc.constantFrom(lo, hi) },
    );
  }
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

function stringFor(checks: Check[]): Arbitrary<string> {
  const datetime = checks.find((c) => c.kind === 'datetime');
  if (datetime) {
    const utc = fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true }).map((d) => d.toISOString());
    if (!datetime.offset) return utc;
    // Any offset, written the ways zod accepts; kept a day inside the range so it stays valid.
    const inner = fc.date({ min: new Date('0000-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true });
    const offset = fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 30, 45));
    return fc.oneof(
      utc,
      fc.tuple(inner, offset).map(([d, [sign, h, m]]) => `${d.toISOString().slice(0, 19)}${sign}${pad(h)}:${pad(m)}`),
    );
  }
  if (checks.some((c) => c.kind === 'uuid')) return fc.uuid();
  const minLength = checks.find((c) => c.kind === 'min')?.value ?? 0;
  const maxLength = checks.find((c) => c.kind === 'max')?.value ?? 300;
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength: Math.min(maxLength, Math.max(minLength, 20)) }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.string({ minLength: maxLength, maxLength, unit: 'grapheme-ascii' }) },
  );
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
