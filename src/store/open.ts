/**
 * Where durable data lives: the embedded default (SQLite files under the data directory) or
 * PostgreSQL when PERSONA_AGENT_DATABASE_URL is set. On LangGraph Platform neither is opened:
 * the platform hands the graphs its own store and checkpointer.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph";
import { ServiceUnavailableError, UserError } from "../errors.js";
import type { Settings } from "../settings.js";
import type pg from "pg";
import { SqliteStore } from "./sqlite-store.js";
import type { LockingStore } from "./transactional.js";
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
   */
  compact(): Promise<void>;
}

/** Checkpoint tables of SqliteSaver and PostgresSaver (default schema) that hold thread data. */
const SQLITE_THREAD_TABLES = ["checkpoints", "writes"];
const POSTGRES_THREAD_TABLES = ["checkpoints", "checkpoint_blobs", "checkpoint_writes"];

/** Where the data lives; `setBy` names the options that gave it, for errors (default: the variables). */
export type DataLocation = Pick<Settings, "dataDir" | "databaseUrl" | "setBy">;

export async function openPersistence(settings: DataLocation): Promise<Persistence> {
  return settings.databaseUrl ? openPostgres(settings.databaseUrl, databaseSetting(settings)) : openSqlite(dataDirOf(settings));
}

/**
 * Only the store: on SQLite the checkpoint file and LangGraph's saver (which loads all of
 * LangChain) stay closed; on PostgreSQL the one pool serves both anyway.
 */
export async function openStore(settings: DataLocation): Promise<OpenStore> {
  return settings.databaseUrl ? openPostgres(settings.databaseUrl, databaseSetting(settings)) : openSqliteStore(dataDirOf(settings));
}

const databaseSetting = (settings: DataLocation) => settings.setBy?.databaseUrl ?? "PERSONA_AGENT_DATABASE_URL";

/** The data directory, created if missing; one that cannot be (a file there, no permission) is the user's to fix. */
function dataDirOf({ dataDir, setBy }: DataLocation): string {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code === "EACCES" || code === "EPERM" ? "permission denied" : (error as Error).message;
    throw new UserError(`cannot use the data directory ${dataDir} (${setBy?.dataDir ?? "PERSONA_AGENT_DATA_DIR"}): ${why}`);
  }
  return dataDir;
}

function openSqliteStore(dataDir: string): OpenStore & { store: SqliteStore } {
  const store = new SqliteStore(join(dataDir, "store.sqlite"));
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
      const union = SQLITE_THREAD_TABLES.map((t) => `SELECT thread_id FROM ${t} WHERE substr(thread_id, 1, @n) = @prefix`).join(" UNION ");
      return db.prepare<[Record<string, unknown>], string>(union).pluck().all({ n: prefix.length, prefix });
    },
    async rollbackThread(threadId, checkpointId) {
      await ready();
      db.transaction(() => {
        for (const t of SQLITE_THREAD_TABLES) db.prepare(`DELETE FROM ${t} WHERE thread_id = ? AND checkpoint_id > ?`).run(threadId, checkpointId);
      })();
    },
    withThreadLock: sqliteLeaseLock(db),
    async compact() {
      // TRUNCATE waits (busy timeout) for other connections' readers, then empties the -wal file.
      for (const conn of [store.db, db]) conn.pragma("wal_checkpoint(TRUNCATE)");
    },
    close: async () => {
      store.close();
      checkpointer.db.close();
    },
  };
}

async function openPostgres(url: string, setting: string): Promise<Persistence> {
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
  Object.assign(store, { withLock: advisoryLock(locks) } satisfies Pick<LockingStore, "withLock">);
  try {
    // Creates or migrates the tables; idempotent, so every process may call it.
    await Promise.all([store.setup(), checkpointer.setup()]);
  } catch (error) {
    await Promise.allSettled([store.stop(), checkpointer.end(), locks.end()]);
    throw databaseError(url, setting, error);
  }
  const threadsUnion = POSTGRES_THREAD_TABLES.map((t) => `SELECT thread_id FROM ${t} WHERE left(thread_id, $1) = $2`).join(" UNION ");
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
        await client.query("DELETE FROM checkpoints WHERE thread_id = $1 AND checkpoint_id > $2", [threadId, checkpointId]);
        await client.query("DELETE FROM checkpoint_writes WHERE thread_id = $1 AND checkpoint_id > $2", [threadId, checkpointId]);
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

/**
 * A lock shared by every process on the database: a session advisory lock held on its own
 * connection while `fn` runs (fn's reads and writes use the store's pool as usual).
 */
function advisoryLock(pool: pg.Pool) {
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [`persona-agent:${key}`]);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`persona-agent:${key}`]).catch((error: Error) => (broken = error));
      }
    } finally {
      client.release(broken); // a connection that could not unlock is closed, which releases the lock
    }
  };
}
