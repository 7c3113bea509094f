import { Migration } from '@mikro-orm/migrations';

/**
 * Plain indexes (SPEC §3), each for a query:
 * - jobs_claim: the claim reads pending rows in run_at order;
 * - jobs_lock: the rescuer reads processing rows by lock expiry;
 * - jobs_created / jobs_topic_created / jobs_status_created: the list, newest first, filtered.
 */
class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table jobs (
      id text not null primary key,
      topic text not null,
      payload text not null,
      status text not null,
      run_at text not null,
      retries integer not null default 0,
      max_retries integer not null,
      last_error text null,
      lock_token text null,
      locked_until text null,
      created text not null,
      updated text not null
    )`);
    this.addSql('create index jobs_claim on jobs (status, run_at, id)');
    this.addSql('create index jobs_lock on jobs (status, locked_until)');
    this.addSql('create index jobs_created on jobs (created, id)');
    this.addSql('create index jobs_topic_created on jobs (topic, created, id)');
    this.addSql('create index jobs_status_created on jobs (status, created, id)');
    this.addSql(`create table superusers (
      id text not null primary key,
      email text not null unique,
      password_hash text not null,
      token_key text not null,
      created text not null,
      updated text not null
    )`);
    this.addSql('create table settings (key text not null primary key, value text not null)');
  }
}

export const sqliteMigrations = [{ name: '0001_initial', class: InitialSchema }];
