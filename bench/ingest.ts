/**
 * Ingest throughput with the offline embedding model (USE lite, 512-d, CPU, in a worker
 * thread), and the cost of ingesting an unchanged history again or rebuilding a lost index.
 *   npm run bench:ingest [-- --entries 1000]
 * Scenarios, each on a SQLite store and an index directory on disk:
 *   cold              new user: embed every entry, build and persist the FAISS index
 *   re-ingest         the same history again: every entry is known, nothing embedded; from a
 *                     fresh EpisodicMemory (index read from disk) and from the one that built it
 *   lost index        the FAISS files are gone: rebuilt from the vectors stored with the entries,
 *                     nothing embedded (bench:rebuild does this at 10k)
 *   +10% new entries  incremental: only the new entries are embedded
 */
import { parseArgs } from "node:util";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Embeddings } from "@langchain/core/embeddings";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { UniversalSentenceEncoderEmbeddings } from "../src/models/embeddings.js";
import { userFileKey } from "../src/users/users.js";
import { fmt, table, time } from "./lib.js";

const { values } = parseArgs({ options: { entries: { type: "string", default: "1000" } } });
const N = Number(values.entries);
const EMB = "local:universal-sentence-encoder";

class Counting extends UniversalSentenceEncoderEmbeddings {
  embedded = 0;
  override async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embedded += texts.length;
    return super.embedDocuments(texts);
  }
}

const topics = ["space", "robots", "love", "war", "dreams", "time travel", "heists", "aliens"];
const historyOf = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, j) => {
    const i = j + offset;
    return {
      query: `Tag this movie: a story about ${topics[i % topics.length]} and ${topics[(i * 7) % topics.length]}, episode ${i}, where the crew must decide what matters`,
      response: ["sci-fi", "romance", "action"][i % 3]!,
      timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
    };
  });

const dir = mkdtempSync(join(tmpdir(), "bench-ingest-"));
const store = new SqliteStore(join(dir, "store.sqlite"));
const indexDir = join(dir, "indexes");
const history = historyOf(N);

// Load the model first, so its start-up (~1-2 s) is not charged to the first scenario.
const [, loadMs] = await time(() => new UniversalSentenceEncoderEmbeddings().embedQuery("warm up"));

const rows: (string | number)[][] = [];
async function scenario(
  name: string,
  user: string,
  entries: typeof history,
  embeddings: Counting,
  options: { memory?: EpisodicMemory } = {},
) {
  const memory = options.memory ?? new EpisodicMemory(store, embeddings as Embeddings, { embeddingsId: EMB, indexDir });
  const [result, ms] = await time(() => memory.add(user, entries));
  rows.push([
    name,
    entries.length,
    result.added,
    embeddings.embedded,
    fmt(ms, 0),
    ms > 0 ? fmt((entries.length / ms) * 1000, 0) : "–",
  ]);
  return memory;
}

const cold = new Counting();
const memory = await scenario("cold", "alice", history, cold);
const warm = new Counting();
await scenario("re-ingest unchanged, fresh instance (index read from disk)", "alice", history, warm, {
  memory: new EpisodicMemory(store, warm, { embeddingsId: EMB, indexDir }),
});
// the same instance as the cold run: index already in memory
const same = cold.embedded;
const [, sameMs] = await time(() => memory.add("alice", history));
rows.push([
  "re-ingest unchanged, index in memory",
  N,
  0,
  cold.embedded - same,
  fmt(sameMs, 0),
  fmt((N / sameMs) * 1000, 0),
]);
rmSync(join(indexDir, userFileKey("alice"), "faiss.index"));
await scenario("lost index, rebuilt from stored vectors", "alice", history, new Counting());
await scenario(
  "+10% new entries (incremental)",
  "alice",
  [...history, ...historyOf(Math.round(N / 10), N)],
  new Counting(),
);

console.log(
  `ingest, ${N} entries of ~25 words, USE lite on CPU (model load ${fmt(loadMs / 1000, 1)} s, not counted); SQLite store, index on disk`,
);
console.log(table(["scenario", "entries given", "added", "texts embedded", "wall ms", "entries/s"], rows));
store.close();
