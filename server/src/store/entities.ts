// Stryker disable all: the entities describe the tables to MikroORM, which needs them to start;
// no query goes through them (the store's SQL is its own and the schema comes from the
// migrations), so no behaviour can tell a mutant here from the original.
import { defineEntity, Type, type Platform, type EntityProperty } from '@mikro-orm/core';

/**
 * Times are ISO 8601 TEXT on SQLite (so they sort as text and read as what they are) and
 * TIMESTAMPTZ on PostgreSQL. MikroORM's SQLite default would store epoch numbers.
 */
export class IsoTimeType extends Type<Date, string | Date> {
  override convertToDatabaseValue(value: Date | string, platform: Platform): string | Date {
    const date = value instanceof Date ? value : new Date(value);
    return isSqlite(platform) ? date.toISOString() : date;
  }

  override convertToJSValue(value: string | Date): Date {
    return value instanceof Date ? value : new Date(value);
  }

  override getColumnType(_prop: EntityProperty, platform: Platform): string {
    return isSqlite(platform) ? 'text' : 'timestamptz';
  }

  override compareAsType(): string {
    return 'date';
  }
}

function isSqlite(platform: Platform): boolean {
  return platform.constructor.name.toLowerCase().includes('sqlite');
}

export const JobEntity = defineEntity({
  name: 'Job',
  tableName: 'jobs',
  properties: (p) => ({
    id: p.uuid().primary(),
    topic: p.string().length(255),
    payload: p.json<unknown>(),
    /** One of pending | processing | completed | failed (a plain column: `p.enum` drifts). */
    status: p.string().length(16),
    runAt: p.type(IsoTimeType).$type<Date>().fieldName('run_at'),
    retries: p.integer(),
    maxRetries: p.integer().fieldName('max_retries'),
    lastError: p.text().nullable().fieldName('last_error'),
    lockToken: p.string().length(36).nullable().fieldName('lock_token'),
    lockedUntil: p.type(IsoTimeType).$type<Date>().nullable().fieldName('locked_until'),
    created: p.type(IsoTimeType).$type<Date>(),
    updated: p.type(IsoTimeType).$type<Date>(),
  }),
});

export const SuperuserEntity = defineEntity({
  name: 'Superuser',
  tableName: 'superusers',
  properties: (p) => ({
    id: p.string().length(36).primary(),
    email: p.string().length(255).unique(),
    passwordHash: p.string().length(255).fieldName('password_hash'),
    /** Part of every token's signature: changing it (a new password) revokes old tokens. */
    tokenKey: p.string().length(64).fieldName('token_key'),
    created: p.type(IsoTimeType).$type<Date>(),
    updated: p.type(IsoTimeType).$type<Date>(),
  }),
});

/** Small key/value settings the server keeps in its database, e.g. the token signing secret. */
export const SettingEntity = defineEntity({
  name: 'Setting',
  tableName: 'settings',
  properties: (p) => ({
    key: p.string().length(64).primary(),
    value: p.text(),
  }),
});

export const entities = [JobEntity, SuperuserEntity, SettingEntity];
