/**
 * Where durable data lives: the embedded default (SQLite files under the data directory) or
 * PostgreSQL when PERSONA_AGENT_DATABASE_URL is set. On LangGraph Platform neither is opened:
 * the platform hands the graphs its own store and checkpointer.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { join } from "node:path";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph";
import { environmentError, ServiceUnavailableError, UserError } from "../errors/errors.js";
import type { Settings } from "../configuration/settings.js";
import type pg from "pg";
import type Database from "better-sqlite3";
import { SqliteStore } from "./sqlite-store.js";
import type { LockedTransactionStore, StoreTransaction } from "./transactional.js";
import { postgresPools } from "../adapters/postgres-pools.js";
import { sqliteLeaseLock } from "./lease-lock.js";

/** The store alone, for commands that only read or write records (no conversation threads). */
export interface OpenStore {
  backend: "sqlite" | "postgres";
  store: BaseStore;
  close(): Promise<void>;
}

export interface Persistence extends OpenStore, CheckpointMaintenance {
  checkpointer: BaseCheckpointSaver & { deleteThread(threadId: string): Promise<void> };
}

/** What forget and a failed ask need beyond LangGraph's checkpointer API, in the checkpointer's own tables. */
export interface CheckpointMaintenance {
  /** Every thread id in the checkpointer that starts with `prefix` (all of one user's threads). */
  findThreads(prefix: string): Promise<string[]>;
  /** Removes the thread's checkpoints and writes newer than `checkpointId` (a failed turn of a continued thread). */
  rollbackThread(threadId: string, checkpointId: string): Promise<void>;
  /**
   * Runs `fn` (one turn of the thread) once no other process or call runs a turn of it: a turn
   * writes its checkpoint after the one it read, so two at once would lose one, and a failed
   * turn's rollback would remove the other's.
   */
  withThreadLock<T>(threadId: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Takes deleted text off disk as far as the database allows: SQLite checkpoints its WAL into
   * the (secure_delete) database files and truncates it; PostgreSQL VACUUMs the touched tables.
   * Returns what it could not do (a WAL another process kept reading), to report.
   */
  compact(): Promise<string | undefined>;
}

/** Checkpoint tables of SqliteSaver and PostgresSaver (default schema) that hold thread data. */
const SQLITE_THREAD_TABLES = ["checkpoints", "writes"];
const POSTGRES_THREAD_TABLES = ["checkpoints", "checkpoint_blobs", "checkpoint_writes"];

/** Where the data lives; `setBy` names the options that gave it, for errors (default: the variables). */
export type DataLocation = Pick<Settings, "dataDir" | "databaseUrl" | "setBy">;

export async function openPersistence(settings: DataLocation): Promise<Persistence> {
  return settings.databaseUrl
    ? openPostgres(settings.databaseUrl, databaseSetting(settings), settings.dataDir)
    : openSqlite(dataDirOf(settings));
}

/**
 * Only the store: on SQLite the checkpoint file and LangGraph's saver (which loads all of
 * LangChain) stay closed; on PostgreSQL the one pool serves both anyway.
 */
export async function openStore(settings: DataLocation): Promise<OpenStore> {
  return settings.databaseUrl
    ? openPostgres(settings.databaseUrl, databaseSetting(settings), settings.dataDir)
    : openSqliteStore(dataDirOf(settings));
}

const databaseSetting = (settings: DataLocation) => settings.setBy?.databaseUrl ?? "PERSONA_AGENT_DATABASE_URL";

/**
 * The data directory, created if missing and private to its owner (see makePrivate); one that
 * cannot be (a file there, no permission) is the user's to fix.
 */
function dataDirOf({ dataDir, setBy }: DataLocation): string {
  try {
    makePrivate(dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "EEXIST" || code === "ENOTDIR"
        ? "a file is in the way"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : (error as Error).message;
    throw new UserError(
      `cannot use the data directory ${dataDir} (${setBy?.dataDir ?? "PERSONA_AGENT_DATA_DIR"}): ${why}`,
    );
  }
  return dataDir;
}

/**
 * Memories are private: the data directory is created 0700, and everything this process creates from now
 * on (SQLite files, whose -wal and -shm take the database file's mode, indexes, caches) gets no
 * group or other permissions (umask 077). A directory left open to others (made before this
 * rule, or by hand) is closed with everything in it, and the user is told once.
 */
const DATA_FILE = /^((store|checkpoints)\.sqlite(-wal|-shm|-journal)?|indexes)$/;

function makePrivate(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (isMainThread) process.umask(process.umask() | 0o077); // worker threads may not set it; the 0700 directory still guards them
  const mode = statSync(dataDir).mode & 0o777;
  if ((mode & 0o077) === 0) return;
  const close = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return; // chmod would follow it out of the data directory
    chmodSync(path, stat.mode & 0o700);
    if (stat.isDirectory() && path !== dataDir) for (const name of readdirSync(path)) close(join(path, name));
  };
  close(dataDir);
  // Only what persona-agent keeps there: the directory may be one the user also uses for other files.
  for (const name of readdirSync(dataDir).filter((n) => DATA_FILE.test(n))) close(join(dataDir, name));
  process.stderr.write(
    `persona-agent: warning: the data directory ${dataDir} was open to other users (mode ${mode.toString(8)}); made it and its files private to you (no group or other permissions)\n`,
  );
}

function openSqliteStore(dataDir: string): OpenStore & { store: SqliteStore } {
  const path = join(dataDir, "store.sqlite");
  let store: SqliteStore;
  try {
    store = new SqliteStore(path);
  } catch (error) {
    // A corrupt file, a full disk, a lock held too long: say which file.
    const environment = environmentError(error);
    throw environment ? new ServiceUnavailableError(`cannot open ${path}: ${environment.message}`) : error;
  }
  return { backend: "sqlite", store, close: async () => store.close() };
}

async function openSqlite(dataDir: string): Promise<Persistence> {
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const { store } = openSqliteStore(dataDir);
  const checkpointer = SqliteSaver.fromConnString(join(dataDir, "checkpoints.sqlite"));
  // As in the store: deleted threads are zeroed on disk, not left in free pages.
  checkpointer.db.pragma("secure_delete = ON");
  // The saver creates its tables lazily; these queries need them now.
  const ready = () => (checkpointer as unknown as { setup(): Promise<void> }).setup();
  const db = checkpointer.db;
  return {
    backend: "sqlite",
    store,
    checkpointer,
    async findThreads(prefix) {
      await ready();
      const union = SQLITE_THREAD_TABLES.map(
        (t) => `SELECT thread_id FROM ${t} WHERE substr(thread_id, 1, @n) = @prefix`,
      ).join(" UNION ");
      return db.prepare<[Record<string, unknown>], string>(union).pluck().all({ n: prefix.length, prefix });
    },
    async rollbackThread(threadId, checkpointId) {
      await ready();
      db.transaction(() => {
        for (const t of SQLITE_THREAD_TABLES)
          db.prepare(`DELETE FROM ${t} WHERE thread_id = ? AND checkpoint_id > ?`).run(threadId, checkpointId);
      })();
    },
    withThreadLock: sqliteLeaseLock(db),
    async compact() {
      const kept: string[] = [];
      for (const [conn, file] of [
        [store.db, "store.sqlite"],
        [db, "checkpoints.sqlite"],
      ] as const) {
        if (!(await truncateWal(conn))) kept.push(join(dataDir, `${file}-wal`));
      }
      if (kept.length === 0) return undefined;
      return `another process kept reading ${kept.join(" and ")} for ${WAL_TRUNCATE_MS / 1000} s, so deleted text may remain there until it lets go; run forget again then`;
    },
    close: async () => {
      store.close();
      checkpointer.db.close();
    },
  };
}

/** How long forget keeps trying to empty a -wal file that other connections are reading. */
const WAL_TRUNCATE_MS = 10_000;

/**
 * Checkpoints the WAL into the database file and truncates it. TRUNCATE needs every reader on
 * the newest snapshot, so one holding an older read transaction makes it return busy (not an
 * error): try again, with short waits, until it succeeds or WAL_TRUNCATE_MS have passed.
 */
async function truncateWal(db: Database.Database): Promise<boolean> {
  const busyTimeout = db.pragma("busy_timeout", { simple: true }) as number;
  db.pragma("busy_timeout = 250");
  try {
    for (const deadline = Date.now() + WAL_TRUNCATE_MS; ; await new Promise((resolve) => setTimeout(resolve, 250))) {
      const [result] = db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number }[];
      if (result?.busy === 0) return true;
      if (Date.now() >= deadline) return false;
    }
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

async function openPostgres(url: string, setting: string, dataDir: string): Promise<Persistence> {
  // The FAISS indexes and embedding caches still live under the data directory: private as on
  // SQLite, where it can be made; derived files only, so a directory that cannot be is no error.
  try {
    makePrivate(dataDir);
  } catch {
    // the indexes are kept in memory only (EpisodicMemory.persist)
  }
  // Imported here, not at the top: loading pg costs SQLite users ~150 ms (it probes for fetch).
  const [{ PostgresSaver }, { PostgresStore }, { default: pg }] = await Promise.all([
    import("@langchain/langgraph-checkpoint-postgres"),
    import("@langchain/langgraph-checkpoint-postgres/store"),
    import("pg"),
  ]);
  const store = PostgresStore.fromConnString(url);
  const checkpointer = PostgresSaver.fromConnString(url);
  // A turn holds its thread's lock while it takes the user's lock or rolls back: three at most.
  const locks = new pg.Pool({ connectionString: url, max: 3 });
  // An idle connection that dies (server restart, pg_terminate_backend) leaves its pool, which
  // opens another when next needed; unheard, the pool's 'error' event would end the process.
  for (const pool of [locks, ...postgresPools(store, checkpointer)]) pool.on("error", () => undefined);
  const withLock = advisoryLock(locks);
  Object.assign(store, { withLock, lockedTransaction: lockedTransaction(locks) } satisfies Pick<
    LockedTransactionStore,
    "withLock" | "lockedTransaction"
  >);
  try {
    // Creates or migrates the tables. Each step is idempotent, but two first uses at once race
    // on the migration tables' keys ("duplicate key ... store_migrations_pkey"): one at a time.
    await withLock("setup", () => Promise.all([store.setup(), checkpointer.setup()]));
  } catch (error) {
    await Promise.allSettled([store.stop(), checkpointer.end(), locks.end()]);
    throw databaseError(url, setting, error);
  }
  const threadsUnion = POSTGRES_THREAD_TABLES.map(
    (t) => `SELECT thread_id FROM ${t} WHERE left(thread_id, $1) = $2`,
  ).join(" UNION ");
  return {
    backend: "postgres",
    store,
    checkpointer,
    async findThreads(prefix) {
      const { rows } = await locks.query<{ thread_id: string }>(threadsUnion, [prefix.length, prefix]);
      return rows.map((r) => r.thread_id);
    },
    async rollbackThread(threadId, checkpointId) {
      const client = await locks.connect();
      try {
        await client.query("BEGIN");
        await client.query("DELETE FROM checkpoints WHERE thread_id = $1 AND checkpoint_id > $2", [
          threadId,
          checkpointId,
        ]);
        await client.query("DELETE FROM checkpoint_writes WHERE thread_id = $1 AND checkpoint_id > $2", [
          threadId,
          checkpointId,
        ]);
        // Channel values the remaining checkpoints no longer name (written by the failed turn).
        await client.query(
          `DELETE FROM checkpoint_blobs b WHERE b.thread_id = $1 AND NOT EXISTS (
             SELECT 1 FROM checkpoints c WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
             AND c.checkpoint->'channel_versions'->>b.channel = b.version)`,
          [threadId],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    withThreadLock: (threadId, fn) => advisoryLock(locks)(`thread:${threadId}`, fn),
    async compact() {
      // Dead rows of the deleted records are freed for reuse; VACUUM cannot run in a transaction.
      for (const table of ["store", ...POSTGRES_THREAD_TABLES]) await locks.query(`VACUUM ${table}`);
      return undefined;
    },
    close: async () => {
      await Promise.allSettled([store.stop(), checkpointer.end(), locks.end()]);
    },
  };
}

/** One line naming the database (never its password) and the setting that named it; what a role lacks, when that is the trouble. */
function databaseError(url: string, setting: string, error: unknown): ServiceUnavailableError {
  const { username, hostname, port, pathname } = new URL(url);
  const database = decodeURIComponent(pathname.slice(1)) || decodeURIComponent(username);
  const where = `${hostname}${port ? `:${port}` : ""}/${database}`;
  const role = decodeURIComponent(username) || "(the default role)";
  // 42501 insufficient_privilege: the tables are created on first use (CREATE SCHEMA IF NOT EXISTS, then CREATE TABLE).
  if ((error as { code?: string }).code === "42501") {
    return new ServiceUnavailableError(
      `the database role ${role} may not create persona-agent's tables in ${where} (${setting}): give it a database it owns (CREATE DATABASE <name> OWNER ${role}), or CREATE on database ${database} and on its schema public`,
    );
  }
  const reason = (error as Error).message || (error as { code?: string }).code || String(error);
  return new ServiceUnavailableError(`cannot use the database at ${where} (${setting}): ${reason}`);
}

/** The advisory lock id of a named lock: session (advisoryLock) and transaction (lockedTransaction) locks of one name exclude each other. */
const LOCK_ID = "hashtextextended('persona-agent:' || $1, 0)";

/**
 * A lock shared by every process on the database: a session advisory lock held on its own
 * connection while `fn` runs (fn's reads and writes use the store's pool as usual).
 */
function advisoryLock(pool: pg.Pool) {
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`SELECT pg_advisory_lock(${LOCK_ID})`, [key]);
      try {
        return await fn();
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_ID})`, [key]).catch((error: Error) => (broken = error));
      }
    } finally {
      client.release(broken); // a connection that could not unlock is closed, which releases the lock
    }
  };
}

/**
 * One transaction on PostgresStore's table that holds the named lock until it commits (forget:
 * the generation bump and every deletion at once). Namespaces are stored as labels joined by
 * ":" (PostgresStore), so a label-wise prefix is the path itself or the path and ":"; no LIKE,
 * so no label character needs escaping.
 */
function lockedTransaction(pool: pg.Pool) {
  return async <T>(key: string, fn: (tx: StoreTransaction) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const path = (namespace: string[]) => namespace.join(":");
    const tx: StoreTransaction = {
      async get(namespace, itemKey) {
        const { rows } = await client.query<{ value: Record<string, unknown> }>(
          "SELECT value FROM store WHERE namespace_path = $1 AND key = $2",
          [path(namespace), itemKey],
        );
        return rows[0]?.value;
      },
      async put(namespace, itemKey, value) {
        await client.query(
          "INSERT INTO store (namespace_path, key, value) VALUES ($1, $2, $3) ON CONFLICT (namespace_path, key) DO UPDATE SET value = excluded.value",
          [path(namespace), itemKey, JSON.stringify(value)],
        );
      },
      async deleteNamespacePrefix(prefix) {
        if (prefix.length === 0) throw new Error("refusing to delete the whole store"); // as SqliteStore's
        const { rowCount } = await client.query(
          "DELETE FROM store WHERE namespace_path = $1 OR starts_with(namespace_path, $2)",
          [path(prefix), `${path(prefix)}:`],
        );
        return rowCount ?? 0;
      },
    };
    try {
      await client.query("BEGIN");
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_ID})`, [key]);
      const result = await fn(tx);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
}
