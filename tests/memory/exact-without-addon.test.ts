/**
 * Without the native index addon (not built where the install found no C++ compiler or
 * libfaiss-dev; left unused with the operator's PERSONA_AGENT_NATIVE_INDEX=off, as here) every
 * index is exact, built and searched by faiss-node alone: past the sketch threshold retrieval
 * returns exactly the nearest memories, the process says once on stderr that it stays exact,
 * and a sketch index saved by a process that had the addon is rebuilt exact.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jest } from "@jest/globals";
import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory, entryId, unitVector } from "../../src/memory/episodic.js";
import { nativeFaiss } from "../../src/memory/vector-index.js";
import { userFileKey } from "../../src/users/users.js";
import { TinyEmbeddings, tempDir } from "../../testing/fixtures.js";

const MODEL = "test:tiny";
const THRESHOLD = 100;
const before = process.env.PERSONA_AGENT_NATIVE_INDEX;
beforeAll(() => (process.env.PERSONA_AGENT_NATIVE_INDEX = "off"));
afterAll(() => (process.env.PERSONA_AGENT_NATIVE_INDEX = before));
afterEach(() => jest.restoreAllMocks());

const many = (user: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    query: `${user} question ${i} ${"xyz"[i % 3]!.repeat(i % 17)}`,
    response: `answer ${i * 7919}`,
  }));
const descriptor = (indexDir: string, user: string) =>
  JSON.parse(readFileSync(join(indexDir, userFileKey(user), "manifest.json"), "utf8")).descriptor as string;

test("past the threshold retrieval is exact, and the process says so once, naming no user", async () => {
  const stderr = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
  const indexDir = tempDir();
  const embeddings = new TinyEmbeddings();
  const memory = new EpisodicMemory(new InMemoryStore(), embeddings, {
    embeddingsId: MODEL,
    indexDir,
    approximateFrom: THRESHOLD,
  });
  const alice = many("alice", 3 * THRESHOLD);
  await memory.add("alice", alice);
  await memory.add("carol", many("carol", THRESHOLD + 50));
  await memory.add("alice", many("alice-more", 20)); // an incremental add past the threshold
  expect(nativeFaiss()).toBeUndefined();
  expect([descriptor(indexDir, "alice"), descriptor(indexDir, "carol")]).toEqual(["Flat", "Flat"]);

  // Every memory's cosine similarity to the query, computed here: the top k are what retrieval returns.
  const stored = [...alice, ...many("alice-more", 20)];
  const vectors = await embeddings.embedDocuments(stored.map((e) => `${e.query}\n${e.response}`));
  for (const query of ["alice question 17", "answer 42", alice[250]!.query]) {
    const q = unitVector(await embeddings.embedQuery(query));
    const expected = stored
      .map((e, i) => ({ id: entryId(e), similarity: unitVector(vectors[i]!).reduce((s, x, j) => s + x * q[j]!, 0) }))
      .sort((a, b) => b.similarity - a.similarity);
    const hits = await memory.retrieve("alice", query, 5);
    expect(hits).toHaveLength(5);
    hits.forEach((hit, i) => expect(hit.similarity).toBeCloseTo(expected[i]!.similarity, 5));
    expect(hits.map((h) => h.id)).toEqual(
      expect.arrayContaining(expected.filter((e) => e.similarity > expected[5]!.similarity + 1e-6).map((e) => e.id)),
    );
  }

  const notes = stderr.mock.calls.map(([text]) => String(text)).filter((text) => text.startsWith("persona-agent:")); // not Node's own warnings
  expect(notes).toEqual([
    "persona-agent: a user has 100 or more memories; retrieval stays exact, and slower, without the native index addon (PERSONA_AGENT_NATIVE_INDEX=off)\n",
  ]);
});

test("a sketch index saved by a process with the addon is rebuilt exact, from the store", async () => {
  const indexDir = tempDir();
  const store = new InMemoryStore();
  const alice = many("alice", 2 * THRESHOLD);
  await new EpisodicMemory(store, new TinyEmbeddings(), {
    embeddingsId: MODEL,
    indexDir,
    approximateFrom: THRESHOLD,
  }).add("alice", alice);
  const manifest = join(indexDir, userFileKey("alice"), "manifest.json");
  writeFileSync(
    manifest,
    JSON.stringify({ ...JSON.parse(readFileSync(manifest, "utf8")), descriptor: "LSH256rt,RFlat" }),
  );

  const embeddings = new TinyEmbeddings();
  const later = new EpisodicMemory(store, embeddings, { embeddingsId: MODEL, indexDir, approximateFrom: THRESHOLD });
  const [top] = await later.retrieve("alice", `${alice[77]!.query}\n${alice[77]!.response}`, 1);
  expect(top!.id).toBe(entryId(alice[77]!));
  expect(embeddings.embedded).toEqual([]); // from the stored vectors
  expect(descriptor(indexDir, "alice")).toBe("Flat");
});
