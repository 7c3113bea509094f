import { MikroORM } from '@mikro-orm/sqlite';
import { JobsError } from '../../errors.js';
import { baseOrmConfig, type StoreOpenOptions } from '../orm-config.js';
import { JOB_COLUMNS, SqlStore, type Row } from '../sql-store.js';
import type { ClaimedJob, JobClaimParams, JobFinishParams, JobInsertParams, JobRecord, ListenParams } from '../types.js';
import { sqliteMigrations } from './migrations.js';

/** The slice of node-sqlite3's Database we use. */
interface Sqlite3Connection {
  configure(option: 'busyTimeout', ms: number): void;
  exec(sql: string, callback: (err: Error | null) => void): void;
  all(sql: string, params: unknown[], callback: (err: Error | null, rows: Row[]) => void): void;
  run(sql: string, params: unknown[], callback: (this: { changes: number }, err: Error | null) => void): void;
  prepare(sql: string, callback: (err: Error | null) => void): Sqlite3Statement;
}

/** The slice of node-sqlite3's Statement we use. */
interface Sqlite3Statement {
  all(params: unknown[], callback: (err: Error | null, rows: Row[]) => void): void;
  run(params: unknown[], callback: (this: { changes: number }, err: Error | null) => void): void;
  finalize(callback: (err: Error | null) => void): void;
}

/** Rows per statement: SQLite binds at most 32,766 values (an insert row takes 7). */
const COMPLETE_CHUNK = 500;
const INSERT_CHUNK = 500;
/** How long racing first starts keep trying to migrate, at least, whatever the busy timeout. */
const MIN_MIGRATE_WAIT = 5_000;
/** How often an idle worker checks whether another process committed, ms. */
const WATCH_INTERVAL = 10;

export class SqliteStore extends SqlStore {
  readonly dialect = 'sqlite' as const;

  static async open(filename: string, options: StoreOpenOptions): Promise<SqliteStore> {
    const busyTimeout = options.busyTimeout ?? 10_000;
    const synchronous = options.synchronous ?? 'NORMAL';
    // Both go into a PRAGMA, which takes no parameters: only known values pass.
    if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
      throw new JobsError('validation', `Option synchronous must be NORMAL or FULL, got ${String(synchronous)}.`);
    }
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0) {
      throw new JobsError('validation', `Option busyTimeout must be an integer ≥ 0, got ${String(busyTimeout)}.`);
    }
    const orm = await MikroORM.init({
      ...baseOrmConfig(sqliteMigrations, options.logger),
      dbName: filename,
      pool: {
        // Every connection knex opens gets WAL, the busy timeout and the sync level: several
        // processes then share the file, and a writer waits rather than failing SQLITE_BUSY.
        afterCreate: (conn: Sqlite3Connection, done: (err: Error | null, conn: Sqlite3Connection) => void) => {
          conn.configure('busyTimeout', busyTimeout);
          const deadline = Date.now() + busyTimeout;
          // Switching a new file to WAL needs it to itself, and SQLite answers SQLITE_BUSY at
          // once rather than through the busy handler while another process switches it too.
          const setUp = () =>
            conn.exec(`pragma busy_timeout = ${busyTimeout}; pragma journal_mode = wal; pragma synchronous = ${synchronous};`, (err) => {
              const busy = /^SQLITE_BUSY/.test((err as { code?: string } | null)?.code ?? '');
              if (busy && Date.now() < deadline) setTimeout(setUp, 5 + Math.random() * 20);
              else done(err, conn);
            });
          setUp();
        },
      },
    });
    return new SqliteStore(orm, busyTimeout);
  }

  private constructor(
    orm: MikroORM,
    private readonly busyTimeout: number,
  ) {
    super(orm);
  }

  protected all(sql: string, params: unknown[] = []): Promise<Row[]> {
    return this.withConnection<Sqlite3Connection, Row[]>(async (conn) => {
      const statement = await this.statements.get(conn, sql);
      return new Promise((resolve, reject) => statement.all(params, (err, rows) => (err ? reject(err) : resolve(rows))));
    });
  }

  protected run(sql: string, params: unknown[] = []): Promise<number> {
    return this.withConnection<Sqlite3Connection, number>(async (conn) => {
      const statement = await this.statements.get(conn, sql);
      return new Promise((resolve, reject) =>
        statement.run(params, function (err) {
          if (err) reject(err);
          else resolve(this.changes);
        }),
      );
    });
  }

  private readonly statements = new StatementCache();

  /** A connection cannot close while it has statements left. */
  protected async closeDialect(): Promise<void> {
    await this.statements.finalizeAll();
  }

  async jobInsert(p: JobInsertParams): Promise<JobRecord> {
    const now = new Date().toISOString();
    const rows = await this.all(
      `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated)
       values (?, ?, ?, 'pending', ?, 0, ?, ?, ?) returning ${JOB_COLUMNS}`,
      [p.id, p.topic, p.payloadJson, p.runAt.toISOString(), p.maxRetries, now, now],
    );
    return this.toRecord(rows[0]!);
  }

  /**
   * All chunks in one IMMEDIATE transaction on the one pooled connection: all or nothing, one
   * commit, and the write lock taken up front so another process cannot make us fail midway.
   */
  async jobInsertMany(items: readonly JobInsertParams[]): Promise<JobRecord[]> {
    if (items.length === 0) return [];
    const now = new Date().toISOString();
    return this.withConnection<Sqlite3Connection, JobRecord[]>(async (conn) => {
      const exec = (sql: string, params: unknown[] = []) => rowsOf(conn, sql, params);
      await exec('begin immediate');
      try {
        const byId = new Map<string, JobRecord>();
        for (let i = 0; i < items.length; i += INSERT_CHUNK) {
          const chunk = items.slice(i, i + INSERT_CHUNK);
          const rows = await exec(
            `insert into jobs (id, topic, payload, status, run_at, retries, max_retries, created, updated)
             values ${chunk.map(() => "(?, ?, ?, 'pending', ?, 0, ?, ?, ?)").join(', ')} returning ${JOB_COLUMNS}`,
            chunk.flatMap((p) => [p.id, p.topic, p.payloadJson, p.runAt.toISOString(), p.maxRetries, now, now]),
          );
          for (const row of rows) byId.set(row.id as string, this.toRecord(row));
        }
        await exec('commit');
        return items.map((p) => byId.get(p.id)!);
      } catch (err) {
        await exec('rollback').catch(() => undefined);
        throw err;
      }
    });
  }

  /** Busy past the busy timeout, or the file cannot be read or written. */
  protected isUnavailable(err: unknown): boolean {
    const code = (err as { code?: string }).code ?? '';
    return /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/.test(code);
  }

  /**
   * Several processes may start on a new file at once; all but one then find the tables made
   * while they looked. Which error a loser sees depends on where the race caught it (a table
   * that exists, a duplicate migration row, or SQLITE_BUSY without waiting: SQLite refuses at
   * once to upgrade a read transaction to a write while another connection writes, since
   * waiting could deadlock). Migrations are recorded transactionally, so trying again after a
   * random pause finds them done; a real fault fails every attempt and surfaces once the busy
   * timeout has passed. An up-to-date file (every start but the first) is only read.
   */
  async migrate(): Promise<void> {
    const deadline = Date.now() + Math.max(this.busyTimeout, MIN_MIGRATE_WAIT);
    for (let attempt = 1; ; attempt++) {
      if (await this.migrationsRecorded(sqliteMigrations)) return;
      try {
        return await this.applyMigrations();
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * Math.min(attempt, 8)));
      }
    }
  }

  /**
   * SQLite cannot notify, but `pragma data_version` changes whenever another connection
   * commits to the file; polling it costs one tiny read. So a worker idle in one process starts a
   * job enqueued by another within about WATCH_INTERVAL ms instead of a poll interval (measured
   * before: p50 ~500 ms with the 1 s default).
   */
  async listenForJobs(params: ListenParams): Promise<() => Promise<void>> {
    let last: number | undefined;
    let polling: Promise<void> | null = null;
    const poll = async () => {
      try {
        const rows = await this.all('pragma data_version');
        const version = Number(rows[0]?.data_version);
        if (last !== undefined && version !== last) params.onWake();
        last = version;
      } catch {
        // The producer's own claims report database trouble; the watch just tries again.
      }
    };
    const timer = setInterval(() => {
      polling ??= poll().finally(() => (polling = null));
    }, WATCH_INTERVAL);
    timer.unref();
    await poll();
    return async () => {
      clearInterval(timer);
      await polling;
    };
  }

  protected time(date: Date): string {
    return date.toISOString();
  }

  protected decodePayload(value: unknown): unknown {
    return JSON.parse(value as string);
  }

  /**
   * One autocommit statement: SQLite takes the write lock when the UPDATE starts, so two
   * processes cannot both read the same pending row; the outer `status = 'pending'` is the
   * compare-and-set that makes that explicit. Each row gets its own random lock token.
   * The inner select walks jobs_claim (status, run_at) and stops after `limit` matches.
   * `+status` keeps SQLite from answering the outer WHERE with a status index: it picked
   * jobs_status_created and scanned every pending row (13 ms per claim with 100,000 waiting,
   * 0.1 ms once it looks the ids up by primary key).
   */
  async jobClaim(p: JobClaimParams): Promise<ClaimedJob[]> {
    if (p.topics.length === 0 || p.limit <= 0) return [];
    const now = new Date();
    const lockedUntil = new Date(now.getTime() + p.lockDuration);
    const topics = p.topics.map(() => '?').join(', ');
    const rows = await this.all(
      `update jobs set status = 'processing', lock_token = lower(hex(randomblob(16))), locked_until = ?, updated = ?
       where id in (
         select id from jobs
         where status = 'pending' and run_at <= ? and topic in (${topics})
         order by run_at, id limit ?
       ) and +status = 'pending'
       returning ${JOB_COLUMNS}, lock_token, locked_until`,
      [lockedUntil.toISOString(), now.toISOString(), now.toISOString(), ...p.topics, p.limit],
    );
    return rows.map((r) => this.toClaimed(r)).sort((a, b) => a.runAt.getTime() - b.runAt.getTime());
  }

  /**
   * Row values `(id, lock_token) in (values …)`: one statement and one commit for many jobs.
   * `+status`, as in the claim, so the ids are looked up by primary key.
   */
  async jobCompleteMany(items: readonly JobFinishParams[]): Promise<string[]> {
    const done: string[] = [];
    for (let i = 0; i < items.length; i += COMPLETE_CHUNK) {
      const chunk = items.slice(i, i + COMPLETE_CHUNK);
      const rows = await this.all(
        `update jobs set status = 'completed', lock_token = null, locked_until = null, updated = ?
         where +status = 'processing' and (id, lock_token) in (values ${chunk.map(() => '(?, ?)').join(', ')})
         returning id`,
        [new Date().toISOString(), ...chunk.flatMap((c) => [c.id, c.lockToken])],
      );
      for (const row of rows) done.push(row.id as string);
    }
    return done;
  }
}

/**
 * Prepared statements per connection, so SQLite parses each query once rather than on every
 * call. node-sqlite3 resets a statement when it next runs, and `all`/`run` step it to the end,
 * which ends its implicit transaction. A connection cannot close while it has statements left,
 * so they are finalized before the pool closes. Bounded: the oldest is finalized past MAX.
 */
class StatementCache {
  private static readonly MAX = 64;
  private readonly byConnection = new Map<Sqlite3Connection, Map<string, Promise<Sqlite3Statement>>>();

  get(conn: Sqlite3Connection, sql: string): Promise<Sqlite3Statement> {
    let cache = this.byConnection.get(conn);
    if (!cache) this.byConnection.set(conn, (cache = new Map()));
    let statement = cache.get(sql);
    if (!statement) {
      statement = new Promise<Sqlite3Statement>((resolve, reject) => {
        const prepared = conn.prepare(sql, (err) => (err ? reject(err) : resolve(prepared)));
      });
      cache.set(sql, statement);
      statement.catch(() => cache.delete(sql));
      if (cache.size > StatementCache.MAX) {
        const [oldestSql, oldest] = cache.entries().next().value!;
        cache.delete(oldestSql);
        void oldest.then(finalize, () => undefined);
      }
    }
    return statement;
  }

  async finalizeAll(): Promise<void> {
    const all = [...this.byConnection.values()].flatMap((cache) => [...cache.values()]);
    this.byConnection.clear();
    await Promise.all(all.map((s) => s.then(finalize, () => undefined)));
  }
}

function finalize(statement: Sqlite3Statement): Promise<void> {
  return new Promise((resolve) => statement.finalize(() => resolve()));
}

/** node-sqlite3's callback `all` as a promise, on a connection the caller holds. */
function rowsOf(conn: Sqlite3Connection, sql: string, params: unknown[]): Promise<Row[]> {
  return new Promise((resolve, reject) => conn.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
}
