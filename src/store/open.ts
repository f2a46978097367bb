/**
 * Where durable data lives: the embedded default (SQLite files under the data directory) or
 * PostgreSQL when PERSONA_AGENT_DATABASE_URL is set. On LangGraph Platform neither is opened:
 * the platform hands the graphs its own store and checkpointer.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph";
import { ServiceUnavailableError } from "../errors.js";
import type pg from "pg";
import { SqliteStore } from "./sqlite-store.js";
import type { LockingStore } from "./transactional.js";

export interface Persistence {
  backend: "sqlite" | "postgres";
  store: BaseStore;
  checkpointer: BaseCheckpointSaver & { deleteThread(threadId: string): Promise<void> };
  close(): Promise<void>;
}

export async function openPersistence(settings: { dataDir: string; databaseUrl?: string }): Promise<Persistence> {
  return settings.databaseUrl ? openPostgres(settings.databaseUrl) : openSqlite(settings.dataDir);
}

async function openSqlite(dataDir: string): Promise<Persistence> {
  mkdirSync(dataDir, { recursive: true });
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const store = new SqliteStore(join(dataDir, "store.sqlite"));
  const checkpointer = SqliteSaver.fromConnString(join(dataDir, "checkpoints.sqlite"));
  // As in the store: deleted threads are zeroed on disk, not left in free pages.
  checkpointer.db.pragma("secure_delete = ON");
  return {
    backend: "sqlite",
    store,
    checkpointer,
    close: async () => {
      store.close();
      checkpointer.db.close();
    },
  };
}

async function openPostgres(url: string): Promise<Persistence> {
  // Imported here, not at the top: loading pg costs SQLite users ~150 ms (it probes for fetch).
  const [{ PostgresSaver }, { PostgresStore }, { default: pg }] = await Promise.all([
    import("@langchain/langgraph-checkpoint-postgres"),
    import("@langchain/langgraph-checkpoint-postgres/store"),
    import("pg"),
  ]);
  const store = PostgresStore.fromConnString(url);
  const checkpointer = PostgresSaver.fromConnString(url);
  const locks = new pg.Pool({ connectionString: url, max: 2 });
  locks.on("error", () => undefined); // an idle lock connection dropped: the next lock opens another
  Object.assign(store, { withLock: advisoryLock(locks) } satisfies Pick<LockingStore, "withLock">);
  try {
    // Creates or migrates the tables; idempotent, so every process may call it.
    await Promise.all([store.setup(), checkpointer.setup()]);
  } catch (error) {
    await Promise.allSettled([store.stop(), checkpointer.end(), locks.end()]);
    const reason = (error as Error).message || (error as { code?: string }).code || String(error);
    throw new ServiceUnavailableError(`cannot use the database at PERSONA_AGENT_DATABASE_URL: ${reason}`);
  }
  return {
    backend: "postgres",
    store,
    checkpointer,
    close: async () => {
      await Promise.allSettled([store.stop(), checkpointer.end(), locks.end()]);
    },
  };
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
