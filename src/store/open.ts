import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "./sqlite-store.js";

/** The embedded default store: one SQLite file under the data directory. */
export function openLocalStore(dataDir: string): SqliteStore {
  mkdirSync(dataDir, { recursive: true });
  return new SqliteStore(join(dataDir, "store.sqlite"));
}
