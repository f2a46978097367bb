/**
 * Retrieval ranks and scores by cosine similarity whatever the embedding model's vector lengths
 * (OpenAI and Bedrock vectors need not be unit length; FAISS ranks by L2 distance).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { Embeddings } from "@langchain/core/embeddings";
import { EpisodicMemory, unitVector } from "../../src/memory/episodic.js";
import { userFileKey } from "../../src/users/users.js";
import { tempDir } from "../../testing/fixtures.js";

/** Fixed, deliberately non-unit vectors keyed by the first word of the text. */
const VECTORS: Record<string, number[]> = {
  near: [10, 1, 0], // almost the query's direction, but long
  far: [0.5, 0.5, 0], // 45° off, but close to the query in L2 terms
  other: [0, 0, 3], // orthogonal
  query: [1, 0, 0],
};

class FixedEmbeddings extends Embeddings {
  embedded = 0;
  constructor() {
    super({});
  }
  private vector(text: string): number[] {
    return VECTORS[text.split(/\W/)[0]!] ?? [0, 1, 0];
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embedded += texts.length;
    return texts.map((t) => this.vector(t));
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.vector(text).map((x) => x * 7); // a query vector of yet another length
  }
}

const cosine = (a: number[], b: number[]) =>
  a.reduce((s, x, i) => s + x * b[i]!, 0) / (Math.hypot(...a) * Math.hypot(...b));
const HISTORY = ["near", "far", "other"].map((word, i) => ({
  query: word,
  response: `${word} answer`,
  timestamp: `2024-01-0${i + 1}T00:00:00Z`,
}));

test("unitVector scales to length 1 and leaves a zero vector alone", () => {
  expect(Math.hypot(...unitVector([3, 4]))).toBeCloseTo(1, 12);
  expect(unitVector([3, 4])).toEqual([0.6, 0.8]);
  expect(unitVector([0, 0])).toEqual([0, 0]);
});

test("non-unit vectors: ranking and scores are cosine similarity, not L2 distance", async () => {
  const memory = new EpisodicMemory(new InMemoryStore(), new FixedEmbeddings(), { embeddingsId: "fixed" });
  await memory.add("u", HISTORY);
  const hits = await memory.retrieve("u", "query", 3);
  // Raw L2 would put "far" first (distance 0.5 vs 82 for "near").
  expect(hits.map((h) => h.query)).toEqual(["near", "far", "other"]);
  for (const hit of hits) expect(hit.similarity).toBeCloseTo(cosine(VECTORS[hit.query]!, VECTORS.query!), 5);
});

test("an index persisted before vectors were normalized is rebuilt, not reused", async () => {
  const indexDir = tempDir();
  const store = new InMemoryStore();
  const writer = new EpisodicMemory(store, new FixedEmbeddings(), { embeddingsId: "fixed", indexDir });
  await writer.add("u", HISTORY);
  await writer.retrieve("u", "query", 1); // builds and persists the index
  const manifestPath = join(indexDir, userFileKey("u"), "manifest.json");
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  expect(manifest.unit).toBe(true);
  // An old manifest (no `unit`): a fresh process must not trust the index's raw vectors.
  writeFileSync(manifestPath, JSON.stringify({ revision: manifest.revision, embeddings: manifest.embeddings }));
  const embeddings = new FixedEmbeddings();
  const reader = new EpisodicMemory(store, embeddings, { embeddingsId: "fixed", indexDir, embeddingCache: false });
  expect((await reader.retrieve("u", "query", 1))[0]!.query).toBe("near");
  expect(embeddings.embedded).toBe(0); // rebuilt from the unit vectors stored with the entries
  expect(JSON.parse(readFileSync(manifestPath, "utf8")).unit).toBe(true);
});
