/**
 * Durable vectors: a user's index rebuilt on an empty index directory (a new replica, a new
 * machine, a lost data dir) from the vectors stored with the entries, against re-embedding the
 * history with USE lite (what a rebuild cost before vectors were stored).
 *   npm run bench:rebuild [-- --entries 10000 --sample 300]
 * The store is filled with HashEmbeddings vectors (512-d like USE; embedding 10k texts with USE
 * takes minutes here): a rebuild reads and indexes stored vectors, whose values do not change
 * its cost. Re-embedding is timed with the real USE model on a sample of the same texts and
 * extrapolated linearly (USE cost is linear in the number of texts of similar length).
 */
import { parseArgs } from "node:util";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { UniversalSentenceEncoderEmbeddings } from "../src/models/embeddings.js";
import { HashEmbeddings } from "./cheap-embeddings.js";
import { fmt, table, time } from "./lib.js";

const { values } = parseArgs({
  options: { entries: { type: "string", default: "10000" }, sample: { type: "string", default: "300" } },
});
const N = Number(values.entries);
const SAMPLE = Math.min(N, Number(values.sample));
const TARGET = 50;

const topics = ["space", "robots", "love", "war", "dreams", "time travel", "heists", "aliens"];
const history = Array.from({ length: N }, (_, i) => ({
  query: `Tag this movie: a story about ${topics[i % topics.length]} and ${topics[(i * 7) % topics.length]}, episode ${i}, where the crew must decide what matters`,
  response: ["sci-fi", "romance", "action"][i % 3]!,
  timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
}));

const dir = mkdtempSync(join(tmpdir(), "bench-rebuild-"));
const store = new SqliteStore(join(dir, "store.sqlite"));
const [, fillMs] = await time(() =>
  new EpisodicMemory(store, new HashEmbeddings(), { embeddingsId: "bench:hash", indexDir: join(dir, "first") }).add(
    "alice",
    history,
  ),
);

// A new process on an empty index directory: the index comes from the store alone.
const replica = new HashEmbeddings();
const memory = new EpisodicMemory(store, replica, { embeddingsId: "bench:hash", indexDir: join(dir, "replica") });
const [hits, rebuildMs] = await time(() => memory.retrieve("alice", "robots in love", 4));
if (hits.length !== 4 || replica.embedded !== 0)
  throw new Error(`rebuild embedded ${replica.embedded} texts, returned ${hits.length} hits`);

const use = new UniversalSentenceEncoderEmbeddings();
await use.embedQuery("warm up"); // model load not counted
const texts = history.slice(0, SAMPLE).map((e) => `${e.query}\n${e.response}`);
const [, sampleMs] = await time(async () => {
  for (let start = 0; start < texts.length; start += 32) await use.embedDocuments(texts.slice(start, start + 32));
});
const reembedMs = (sampleMs / SAMPLE) * N;

console.log(
  `rebuild of one user's index, ${N.toLocaleString("en-US")} memories, empty index directory, warm SQLite store (filled in ${fmt(fillMs / 1000, 1)} s)`,
);
console.log(
  table(
    ["path", "texts embedded", "wall s", "entries/s"],
    [
      ["rebuild from stored vectors", replica.embedded, fmt(rebuildMs / 1000, 2), fmt((N / rebuildMs) * 1000, 0)],
      [
        `re-embed with USE lite (timed on ${SAMPLE}, × ${fmt(N / SAMPLE, 1)})`,
        N,
        fmt(reembedMs / 1000, 1),
        fmt((N / reembedMs) * 1000, 0),
      ],
    ],
  ),
);
console.log(
  `\nspeed-up: ${fmt(reembedMs / rebuildMs, 0)}× (target ≥ ${TARGET}×, ratio to target ${fmt(reembedMs / rebuildMs / TARGET, 1)})`,
);
store.close();
