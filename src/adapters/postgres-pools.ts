/**
 * The connection pools inside LangGraph's PostgresStore (`core.pool`, private) and PostgresSaver
 * (`pool`). A pg pool emits 'error' when an idle connection dies (a server restart, an
 * administrator's pg_terminate_backend); with no listener that event kills the process.
 * tests/store/postgres-idle-error.test.ts fails if the libraries move their pools.
 */
import type { Pool } from "pg";

export function postgresPools(store: object, checkpointer: object): Pool[] {
  const pools = [(store as { core?: { pool?: Pool } }).core?.pool, (checkpointer as { pool?: Pool }).pool];
  if (pools.some((pool) => typeof pool?.on !== "function"))
    throw new Error(
      "PostgresStore/PostgresSaver no longer expose their pg pools where src/adapters/postgres-pools.ts looks",
    );
  return pools as Pool[];
}
