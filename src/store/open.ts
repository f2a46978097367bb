/**
 * Where durable data lives: the embedded default (SQLite files under the data directory) or
 * PostgreSQL when PERSONA_AGENT_DATABASE_URL is set. On LangGraph Platform neither is opened:
 * the platform hands the graphs its own store and checkpointer.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BaseCheckpointSaver, BaseStore } from "@langchain/langgraph";
import { UserError } from "../errors.js";
import { SqliteStore } from "./sqlite-store.js";

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
  const [{ PostgresSaver }, { PostgresStore }] = await Promise.all([
    import("@langchain/langgraph-checkpoint-postgres"),
    import("@langchain/langgraph-checkpoint-postgres/store"),
  ]);
  const store = PostgresStore.fromConnString(url);
  const checkpointer = PostgresSaver.fromConnString(url);
  try {
    // Creates or migrates the tables; idempotent, so every process may call it.
    await Promise.all([store.setup(), checkpointer.setup()]);
  } catch (error) {
    await Promise.allSettled([store.stop(), checkpointer.end()]);
    const reason = (error as Error).message || (error as { code?: string }).code || String(error);
    throw new UserError(`cannot use the database at PERSONA_AGENT_DATABASE_URL: ${reason}`, 3);
  }
  return {
    backend: "postgres",
    store,
    checkpointer,
    close: async () => {
      await Promise.allSettled([store.stop(), checkpointer.end()]);
    },
  };
}
