import { appendFileSync, existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { episodicMemoryFor } from "../../src/services/services.js";
import { isolateEnv } from "../models/helpers.js";
import { EmbeddingCache, embeddingCacheFile } from "../../src/memory/embedding-cache.js";
import { userFileKey } from "../../src/users/users.js";
import { ALICE_HISTORY, BOB_HISTORY, TinyEmbeddings, tempDir } from "../../testing/fixtures.js";

const cacheFiles = (dir: string) =>
  readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.includes("embeddings-"));

describe("embedding cache", () => {
  // The store holds each entry's vector for the model that added it; the cache keeps the vectors
  // of any other model (entries added under "test:a", read under "test:b").
  test("an index of another model than the stored vectors' is rebuilt from cached vectors, not re-embedded", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    await new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: "test:a", indexDir }).add(
      "alice",
      ALICE_HISTORY,
    );
    const first = new TinyEmbeddings();
    await new EpisodicMemory(store, first, { embeddingsId: "test:b", indexDir }).retrieve("alice", "robots in love", 1);
    expect(first.embedded).toHaveLength(4);
    const userDir = join(indexDir, userFileKey("alice"));
    expect(existsSync(join(userDir, embeddingCacheFile("test:b")))).toBe(true);

    // the FAISS files are gone (or unreadable): the next process rebuilds the index
    rmSync(join(userDir, "faiss.index"));
    const second = new TinyEmbeddings();
    expect(
      await new EpisodicMemory(store, second, { embeddingsId: "test:b", indexDir }).retrieve("alice", "wormhole", 4),
    ).toHaveLength(4);
    expect(second.embedded).toEqual([]);
    expect(existsSync(join(userDir, "faiss.index"))).toBe(true);
    expect((await EmbeddingCache.open(userDir, "test:b")).size).toBe(4);
  });

  test("another embedding model id misses, and switching back uses the stored vectors", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    await new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: "test:a", indexDir }).add("bob", BOB_HISTORY);
    const b = new TinyEmbeddings();
    await new EpisodicMemory(store, b, { embeddingsId: "test:b", indexDir }).retrieve("bob", "love", 1);
    expect(b.embedded).toHaveLength(3);
    const a = new TinyEmbeddings();
    await new EpisodicMemory(store, a, { embeddingsId: "test:a", indexDir }).retrieve("bob", "love", 1);
    expect(a.embedded).toEqual([]);
    expect(cacheFiles(indexDir).sort()).toEqual(
      [embeddingCacheFile("test:a"), embeddingCacheFile("test:b")].map((f) => join(userFileKey("bob"), f)).sort(),
    );
  });

  test("is per user: another user's identical texts are embedded for them, not shared", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    const adder = new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: "test:a", indexDir });
    await adder.add("alice", BOB_HISTORY);
    await adder.add("bob", BOB_HISTORY);
    const emb = new TinyEmbeddings();
    const memory = new EpisodicMemory(store, emb, { embeddingsId: "test:tiny", indexDir });
    await memory.retrieve("alice", "love", 1);
    await memory.retrieve("bob", "love", 1);
    expect(emb.embedded).toHaveLength(6);
  });

  test("forgetting a user (dropIndex) removes their cached vectors and no one else's", async () => {
    const indexDir = tempDir();
    const store = new InMemoryStore();
    const adder = new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: "test:a", indexDir });
    await adder.add("alice", ALICE_HISTORY);
    await adder.add("bob", BOB_HISTORY);
    const memory = new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: "test:tiny", indexDir });
    await memory.retrieve("alice", "love", 1);
    await memory.retrieve("bob", "love", 1);
    expect(cacheFiles(indexDir)).toHaveLength(4); // test:a's (at add) and test:tiny's, per user
    await memory.dropIndex("alice");
    expect(cacheFiles(indexDir).every((f) => f.startsWith(userFileKey("bob")))).toBe(true);
    expect(cacheFiles(indexDir)).toHaveLength(2);
    expect(existsSync(join(indexDir, userFileKey("alice")))).toBe(false);
  });

  test("a record cut by a crash is dropped; the rest still hit", async () => {
    const dir = tempDir();
    const emb = new TinyEmbeddings();
    const cache = await EmbeddingCache.open(dir, "test:tiny");
    const first = await cache.embed(["a", "b", "a"], emb);
    expect(first.hits).toBe(0);
    expect(emb.embedded).toEqual(["a", "b"]); // a duplicate in one batch is embedded once
    const path = join(dir, embeddingCacheFile("test:tiny"));
    const size = statSync(path).size;
    appendFileSync(path, Buffer.alloc(17, 7)); // half a record
    const reopened = await EmbeddingCache.open(dir, "test:tiny");
    expect(statSync(path).size).toBe(size);
    const second = await reopened.embed(["b", "c", "a"], emb);
    expect(second.hits).toBe(2);
    expect(emb.embedded).toEqual(["a", "b", "c"]);
    expect(second.vectors[0]![0]).toBeCloseTo(first.vectors[1]![0]!, 6);
    expect((await EmbeddingCache.open(dir, "test:tiny")).size).toBe(3);
  });
});

describe("index memory bounds", () => {
  test("indexes load lazily and the least recently used are evicted past maxCachedIndexes", async () => {
    const store = new InMemoryStore();
    const memory = new EpisodicMemory(store, new TinyEmbeddings(), {
      embeddingsId: "test:tiny",
      indexDir: tempDir(),
      maxCachedIndexes: 2,
    });
    for (const user of ["u1", "u2", "u3"]) await memory.add(user, BOB_HISTORY);
    expect(memory.cachedIndexes()).toEqual(["u2", "u3"]);
    await memory.retrieve("u2", "love", 1);
    expect(memory.cachedIndexes()).toEqual(["u3", "u2"]);
    // an evicted user's index comes back from disk on use
    expect(await memory.retrieve("u1", "love", 3)).toHaveLength(3);
    expect(memory.cachedIndexes()).toEqual(["u2", "u1"]);

    const reopened = new EpisodicMemory(store, new TinyEmbeddings(), {
      embeddingsId: "test:tiny",
      indexDir: tempDir(),
    });
    expect(reopened.cachedIndexes()).toEqual([]);
  });

  describe("the operator's bounds", () => {
    isolateEnv(["PERSONA_AGENT_MAX_CACHED_INDEXES"]);

    test("PERSONA_AGENT_MAX_CACHED_INDEXES bounds the indexes of the services' memory", async () => {
      process.env.PERSONA_AGENT_MAX_CACHED_INDEXES = "1";
      const memory = episodicMemoryFor(new InMemoryStore(), {
        embeddings: "local:universal-sentence-encoder",
        indexDir: tempDir(),
        timeoutMs: 60_000,
        maxRetries: 0,
      });
      for (const user of ["u1", "u2"]) await memory.add(user, BOB_HISTORY);
      expect(memory.cachedIndexes()).toEqual(["u2"]);
    }, 60_000);
  });

  test("maxCachedVectors bounds the vectors held in memory; the index in use always stays", async () => {
    const memory = new EpisodicMemory(new InMemoryStore(), new TinyEmbeddings(), {
      embeddingsId: "test:tiny",
      maxCachedVectors: 7,
    });
    await memory.add("a", ALICE_HISTORY); // 4
    await memory.add("b", BOB_HISTORY); // 3: 7 in all
    expect(memory.cachedIndexes()).toEqual(["a", "b"]);
    await memory.add("c", ALICE_HISTORY.slice(0, 1)); // 8 > 7: "a" goes
    expect(memory.cachedIndexes()).toEqual(["b", "c"]);
    const big = new EpisodicMemory(new InMemoryStore(), new TinyEmbeddings(), {
      embeddingsId: "test:tiny",
      maxCachedVectors: 2,
    });
    await big.add("a", ALICE_HISTORY);
    expect(big.cachedIndexes()).toEqual(["a"]);
    expect(await big.retrieve("a", "love", 2)).toHaveLength(2);
  });
});
