/**
 * One large memory add in a process of its own, for tests/faults/sqlite-load.test.ts and
 * bench/sqlite-contention.ts: the real EpisodicMemory on the data directory's SQLite store, with
 * the benches' cheap 512-d embeddings (bench/cheap-embeddings.ts), so the write load is an
 * ingest's without its embedding time.
 *   node --import tsx bench/large-add.ts <dataDir> <user> <entries>
 */
import { join } from "node:path";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { HashEmbeddings } from "./cheap-embeddings.js";

const [dataDir, user, n] = process.argv.slice(2) as [string, string, string];
const store = new SqliteStore(join(dataDir, "store.sqlite"));
const memory = new EpisodicMemory(store, new HashEmbeddings(), {
  embeddingsId: "bench:hash-512",
  indexDir: join(dataDir, "indexes"),
});
const entries = Array.from({ length: Number(n) }, (_, i) => ({
  query: `Tag this movie: ${user}'s film number ${i}`,
  response: i % 3 ? "sci-fi" : "drama",
  timestamp: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString(),
}));
try {
  const { added } = await memory.add(user, entries);
  process.stdout.write(`${added}\n`);
} finally {
  store.close();
}
