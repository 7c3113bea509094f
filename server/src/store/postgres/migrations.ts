import { Migration } from '@mikro-orm/migrations';

/**
 * - jobs_claim is partial on exactly the rows the claim reads (`status = 'pending'`, an
 *   immutable predicate), ordered as the claim orders, so it stays small however many
 *   completed jobs the table keeps;
 * - jobs_lock is partial on the rows the rescuer reads;
 * - the list indexes serve `order by created desc, id desc` with and without filters.
 */
class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table jobs (
      id uuid not null primary key,
      topic varchar(255) not null,
      payload jsonb not null,
      status varchar(16) not null,
      run_at timestamptz not null,
      retries integer not null default 0,
      max_retries integer not null,
      last_error text null,
      lock_token varchar(36) null,
      locked_until timestamptz null,
      created timestamptz not null,
      updated timestamptz not null
    )`);
    this.addSql(`create index jobs_claim on jobs (run_at, id) where status = 'pending'`);
    this.addSql(`create index jobs_lock on jobs (locked_until) where status = 'processing'`);
    this.addSql('create index jobs_created on jobs (created, id)');
    this.addSql('create index jobs_topic_created on jobs (topic, created, id)');
    this.addSql('create index jobs_status_created on jobs (status, created, id)');
    this.addSql(`create table superusers (
      id varchar(36) not null primary key,
      email varchar(255) not null unique,
      password_hash varchar(255) not null,
      token_key varchar(64) not null,
      created timestamptz not null,
      updated timestamptz not null
    )`);
    this.addSql('create table settings (key varchar(64) not null primary key, value text not null)');
  }
}

export const postgresMigrations = [{ name: '0001_initial', class: InitialSchema }];
