/**
 * Vectors live in the store with their entries: any process rebuilds a user's index without the
 * embedding model; the index files are only a cache, checked against the store's revision.
 */
import { existsSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { jest } from "@jest/globals";
import { InMemoryStore, type BaseStore } from "@langchain/langgraph";
import { EpisodicMemory, MAX_ENTRIES_PER_ADD, entryId } from "../../src/memory/episodic.js";
import { forgetUser } from "../../src/users/forget.js";
import { openPersistence, type Persistence } from "../../src/store/open.js";
import { userFileKey } from "../../src/users/users.js";
import { nativeFaiss } from "../../src/memory/vector-index.js";
import { ALICE_HISTORY, BOB_HISTORY, TinyEmbeddings, tempDir } from "../../testing/fixtures.js";
import { createTestDatabase, describeWithPostgres, type TestDatabase } from "../support/postgres.js";

const MODEL = "test:tiny";

function durableSuite(open: () => Promise<{ store: BaseStore; close(): Promise<void> }>) {
  let persistence: { store: BaseStore; close(): Promise<void> };
  beforeEach(async () => (persistence = await open()));
  afterEach(async () => persistence.close());

  test("a new process on an empty index dir rebuilds the index from the store without embedding", async () => {
    const { store } = persistence;
    const ingest = new TinyEmbeddings();
    await new EpisodicMemory(store, ingest, { embeddingsId: MODEL, indexDir: tempDir() }).add("alice", ALICE_HISTORY);
    expect(ingest.embedded).toHaveLength(4);

    const replica = new TinyEmbeddings();
    const indexDir = tempDir(); // another machine: nothing on disk
    const memory = new EpisodicMemory(store, replica, { embeddingsId: MODEL, indexDir });
    const hits = await memory.retrieve("alice", ALICE_HISTORY[2]!.query + "\n" + ALICE_HISTORY[2]!.response, 1);
    expect(replica.embedded).toEqual([]); // only the query went through embedQuery
    expect(hits[0]!.id).toBe(entryId(ALICE_HISTORY[2]!));
    expect(existsSync(join(indexDir, userFileKey("alice"), "faiss.index"))).toBe(true);
    // the vector is the index's business: entries read back carry none
    expect((await memory.list("alice")).every((e) => !("vector" in e))).toBe(true);
    expect(Object.keys(hits[0]!)).not.toContain("vector");
  });

  test("an index directory of the previous format (FaissStore's docstore.json) is rebuilt from the store", async () => {
    const { store } = persistence;
    const indexDir = tempDir();
    await new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: MODEL, indexDir }).add(
      "alice",
      ALICE_HISTORY,
    );
    const dir = join(indexDir, userFileKey("alice"));
    renameSync(join(dir, "entries.json"), join(dir, "docstore.json"));

    const embeddings = new TinyEmbeddings();
    const hits = await new EpisodicMemory(store, embeddings, { embeddingsId: MODEL, indexDir }).retrieve(
      "alice",
      ALICE_HISTORY[1]!.query + "\n" + ALICE_HISTORY[1]!.response,
      1,
    );
    expect(hits[0]!.id).toBe(entryId(ALICE_HISTORY[1]!));
    expect(embeddings.embedded).toEqual([]);
    expect(
      readdirSync(dir)
        .filter((name) => name.endsWith(".json"))
        .sort(),
    ).toEqual(["entries.json", "manifest.json"]); // docstore.json went with the old directory
  });

  test("a replica's cached index is dropped once the user is forgotten elsewhere", async () => {
    const { store } = persistence;
    const replicaDir = tempDir();
    const replica = new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: MODEL, indexDir: replicaDir });
    const primary = new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: MODEL, indexDir: tempDir() });
    await primary.add("alice", ALICE_HISTORY);
    await primary.add("bob", BOB_HISTORY);
    expect(await replica.retrieve("alice", "robots", 4)).toHaveLength(4); // cached in memory and on disk
    expect(replica.cachedIndexes()).toContain("alice");

    await forgetUser(store, primary, "alice");
    expect(await replica.retrieve("alice", "robots", 4)).toEqual([]);
    expect(replica.cachedIndexes()).not.toContain("alice");
    expect(existsSync(join(replicaDir, userFileKey("alice")))).toBe(false);
    expect(await replica.retrieve("bob", "love", 3)).toHaveLength(3);
  });
}

describe("durable vectors on SQLite", () => {
  durableSuite(async () => openPersistence({ dataDir: tempDir() }));
});

describeWithPostgres("durable vectors on PostgreSQL", () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(async () => db.drop());
  let opened: Persistence[] = [];
  durableSuite(async () => {
    const p = await openPersistence({ dataDir: tempDir(), databaseUrl: db.url });
    opened.push(p);
    return p;
  });
  afterAll(() => (opened = []));
});

const bulk = nativeFaiss() ? test : test.skip;

describe("approximate index", () => {
  const many = (user: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({
      query: `${user} question ${i} ${"xyz"[i % 3]!.repeat(i % 17)}`,
      response: `answer ${i * 7919}`,
    }));

  afterEach(() => jest.restoreAllMocks());

  bulk(
    "past the threshold a user's index is a sketch re-ranked exactly, below it exact, and results stay per user",
    async () => {
      const indexDir = tempDir();
      const store = new InMemoryStore();
      const memory = new EpisodicMemory(store, new TinyEmbeddings(), {
        embeddingsId: MODEL,
        indexDir,
        approximateFrom: 100,
      });
      const alice = many("alice", 300);
      await memory.add("alice", alice);
      await memory.add("bob", BOB_HISTORY);
      const descriptor = (user: string) =>
        JSON.parse(readFileSync(join(indexDir, userFileKey(user), "manifest.json"), "utf8")).descriptor;
      expect(descriptor("alice")).toMatch(/^LSH\d+rt,RFlat$/);
      expect(descriptor("bob")).toBe("Flat");

      const target = alice[123]!;
      const [top] = await memory.retrieve("alice", `${target.query}\n${target.response}`, 1);
      expect(top!.id).toBe(entryId(target));
      const bobHits = await memory.retrieve("bob", `${target.query}\n${target.response}`, 10);
      expect(bobHits.map((h) => h.id).sort()).toEqual(BOB_HISTORY.map(entryId).sort());

      // new memories are added to the sketch index (coded with its trained rotation) and found
      const more = many("alice-more", 200);
      await memory.add("alice", more);
      expect(descriptor("alice")).toMatch(/^LSH\d+rt,RFlat$/);
      const added = more[77]!;
      const [topAdded] = await memory.retrieve("alice", `${added.query}\n${added.response}`, 1);
      expect(topAdded!.id).toBe(entryId(added));
      expect(await memory.count("alice")).toBe(500);
      expect(readdirSync(indexDir).sort()).toEqual([userFileKey("alice"), userFileKey("bob")].sort());

      // Another process loads the persisted sketch: its file is read once, by the addon, whose
      // index object (popcount scan) then searches and takes new memories.
      const addon = nativeFaiss()!;
      const file = join(indexDir, userFileKey("alice"), "faiss.index");
      const nativeIndex = Object.getPrototypeOf(addon.readIndex(file)) as { search(): unknown; add(): unknown };
      const [readIndex, nativeSearch, nativeAdd, build] = [
        jest.spyOn(addon, "readIndex"),
        jest.spyOn(nativeIndex, "search"),
        jest.spyOn(nativeIndex, "add"),
        jest.spyOn(addon, "buildIndexFile"),
      ];
      const reloaded = () =>
        new EpisodicMemory(store, new TinyEmbeddings(), { embeddingsId: MODEL, indexDir, approximateFrom: 100 });
      const second = reloaded();
      const [again] = await second.retrieve("alice", `${added.query}\n${added.response}`, 1);
      expect(again!.id).toBe(entryId(added));
      expect(readIndex.mock.calls).toEqual([[file]]);
      expect(nativeSearch).toHaveBeenCalledTimes(1);

      const late = many("alice-late", 20);
      await second.add("alice", late);
      const [lateHit] = await second.retrieve("alice", `${late[5]!.query}\n${late[5]!.response}`, 1);
      expect(lateHit!.id).toBe(entryId(late[5]!));
      expect(nativeAdd).toHaveBeenCalledTimes(1); // added to the loaded index, not rebuilt
      expect(build).not.toHaveBeenCalled();
      // ... and written by it: a third process finds them in the file
      const [fromFile] = await reloaded().retrieve("alice", `${late[5]!.query}\n${late[5]!.response}`, 1);
      expect(fromFile!.id).toBe(entryId(late[5]!));
      expect(readIndex).toHaveBeenCalledTimes(2);
    },
  );

  test("below the threshold the index stays exact", async () => {
    const indexDir = tempDir();
    const memory = new EpisodicMemory(new InMemoryStore(), new TinyEmbeddings(), { embeddingsId: MODEL, indexDir });
    await memory.add("alice", many("alice", 300));
    expect(JSON.parse(readFileSync(join(indexDir, userFileKey("alice"), "manifest.json"), "utf8")).descriptor).toBe(
      "Flat",
    );
  });
});

describe("request caps", () => {
  test("an add over the entry cap is refused before anything is embedded or written", async () => {
    const store = new InMemoryStore();
    const emb = new TinyEmbeddings();
    const memory = new EpisodicMemory(store, emb, { embeddingsId: MODEL });
    const entries = Array.from({ length: MAX_ENTRIES_PER_ADD + 1 }, (_, i) => ({ query: `q${i}`, response: "r" }));
    await expect(memory.add("alice", entries)).rejects.toThrow(/too many entries in one request/);
    expect(emb.embedded).toEqual([]);
    expect(await memory.count("alice")).toBe(0);
  });

  test("an add over the size cap is refused", async () => {
    const memory = new EpisodicMemory(new InMemoryStore(), new TinyEmbeddings(), { embeddingsId: MODEL });
    const big = "x".repeat(99_000);
    const entries = Array.from({ length: 400 }, (_, i) => ({ query: `${i} ${big}`, response: "r" }));
    await expect(memory.add("alice", entries)).rejects.toThrow(/too large for one request/);
    expect(await memory.count("alice")).toBe(0);
  });
});

describe("query vectors", () => {
  class CountingQueries extends TinyEmbeddings {
    queries: string[] = [];
    override async embedQuery(text: string): Promise<number[]> {
      this.queries.push(text);
      return super.embedQuery(text);
    }
  }

  test("a repeated query (an alignment replay) reuses its vector; a forgotten user's are dropped", async () => {
    const store = new InMemoryStore();
    const emb = new CountingQueries();
    const memory = new EpisodicMemory(store, emb, { embeddingsId: MODEL });
    await memory.add("alice", ALICE_HISTORY);
    await memory.add("bob", ALICE_HISTORY);
    const first = await memory.retrieve("alice", ALICE_HISTORY[0]!.query, 2, {
      excludeIds: [entryId(ALICE_HISTORY[0]!)],
    });
    const again = await memory.retrieve("alice", ALICE_HISTORY[0]!.query, 2, {
      excludeIds: [entryId(ALICE_HISTORY[0]!)],
    });
    expect(again).toEqual(first);
    await memory.retrieve("bob", ALICE_HISTORY[0]!.query, 2); // per user: bob's is his own
    expect(emb.queries).toEqual([ALICE_HISTORY[0]!.query, ALICE_HISTORY[0]!.query]);

    await forgetUser(store, memory, "alice");
    await memory.add("alice", ALICE_HISTORY);
    await memory.retrieve("alice", ALICE_HISTORY[0]!.query, 2);
    expect(emb.queries).toHaveLength(3);
  });
});
