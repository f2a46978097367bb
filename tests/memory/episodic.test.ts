import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory, entryId } from "../../src/memory/episodic.js";
import { ALICE_HISTORY, BOB_HISTORY, CountingEmbeddings, tempDir } from "../../testing/fixtures.js";

const EMB = "local:universal-sentence-encoder";

describe("EpisodicMemory", () => {
  test("stores entries once, however often the same history is ingested", async () => {
    const store = new InMemoryStore();
    const memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
    expect(await memory.add("alice", ALICE_HISTORY)).toEqual({ added: 4, skipped: 0 });
    expect(await memory.add("alice", [...ALICE_HISTORY, ALICE_HISTORY[0]!])).toEqual({ added: 0, skipped: 5 });
    expect(await memory.count("alice")).toBe(4);
    const listed = await memory.list("alice");
    expect(listed.map((e) => e.response)).toEqual(["sci-fi", "sci-fi", "dystopia", "sci-fi"]);
    expect(listed[0]!.id).toBe(entryId(ALICE_HISTORY[0]!));
  });

  test("retrieves the most similar of the user's own entries, best first", async () => {
    const store = new InMemoryStore();
    const memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
    await memory.add("alice", ALICE_HISTORY);
    await memory.add("bob", BOB_HISTORY);
    const hits = await memory.retrieve("alice", "machines keep humans inside a simulated reality", 2);
    expect(hits).toHaveLength(2);
    expect(hits[0]!.response).toBe("dystopia");
    expect(hits[0]!.similarity).toBeGreaterThan(hits[1]!.similarity);
    // a romance query still only finds Alice's entries
    const romance = await memory.retrieve("alice", "two strangers fall in love on a train", 4);
    expect(romance.map((h) => h.id).sort()).toEqual(ALICE_HISTORY.map(entryId).sort());
  });

  test("k larger than the memory returns everything; an unknown user returns nothing", async () => {
    const memory = new EpisodicMemory(new InMemoryStore(), new CountingEmbeddings(), { embeddingsId: EMB });
    await memory.add("bob", BOB_HISTORY);
    expect(await memory.retrieve("bob", "love", 50)).toHaveLength(3);
    expect(await memory.retrieve("nobody", "love", 4)).toEqual([]);
  });

  test("persists the FAISS index and reloads it without embedding again", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    const first = new CountingEmbeddings();
    await new EpisodicMemory(store, first, { embeddingsId: EMB, indexDir }).add("alice", ALICE_HISTORY);
    expect(first.embedded).toBe(4);
    expect(readdirSync(indexDir)).toHaveLength(1);

    const second = new CountingEmbeddings();
    const reopened = new EpisodicMemory(store, second, { embeddingsId: EMB, indexDir });
    const hits = await reopened.retrieve("alice", "robots in love", 1);
    expect(hits[0]!.query).toContain("robot falls in love");
    expect(second.embedded).toBe(0); // only the query was embedded (embedQuery)
  });

  test("a stale index is brought up to date incrementally, a missing one rebuilt from the stored vectors", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    const emb = new CountingEmbeddings();
    const memory = new EpisodicMemory(store, emb, { embeddingsId: EMB, indexDir });
    await memory.add("alice", ALICE_HISTORY.slice(0, 2));
    await memory.add("alice", ALICE_HISTORY.slice(2));
    expect(emb.embedded).toBe(4); // the second add embedded only the two new entries

    const dir = readdirSync(indexDir)[0]!;
    rmSync(join(indexDir, dir), { recursive: true });
    const fresh = new CountingEmbeddings();
    const reopened = new EpisodicMemory(store, fresh, { embeddingsId: EMB, indexDir });
    expect(await reopened.retrieve("alice", "wormhole", 4)).toHaveLength(4);
    expect(fresh.embedded).toBe(0);
    expect(existsSync(join(indexDir, dir, "manifest.json"))).toBe(true);
  });

  test("an index built with another embedding model is not reused", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    await new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB, indexDir }).add("bob", BOB_HISTORY);
    const other = new CountingEmbeddings();
    await new EpisodicMemory(store, other, { embeddingsId: "openai:other", indexDir }).retrieve("bob", "love", 1);
    expect(other.embedded).toBe(3);
  });

  test("latest returns the n most recent entries in time order", async () => {
    const memory = new EpisodicMemory(new InMemoryStore(), new CountingEmbeddings(), { embeddingsId: EMB });
    await memory.add("alice", [...ALICE_HISTORY].reverse());
    const latest = await memory.latest("alice", 2);
    expect(latest.map((e) => e.timestamp)).toEqual(["2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z"]);
  });
});
