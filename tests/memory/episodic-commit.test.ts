/** The meta record commits an add: what an interrupted add wrote stays invisible and is redone. */
import { InMemoryStore } from "@langchain/langgraph";
import { EpisodicMemory, entryId } from "../../src/memory/episodic.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { userNamespace } from "../../src/users/users.js";
import { ALICE_HISTORY, CountingEmbeddings } from "../../testing/fixtures.js";

const EMB = "local:universal-sentence-encoder";

test.each([
  ["InMemoryStore (non-transactional path)", () => new InMemoryStore()],
  ["SqliteStore (transactional path)", () => new SqliteStore(":memory:")],
])("orphans of an interrupted add are invisible and replaced by the next add on %s", async (_name, makeStore) => {
  const store = makeStore();
  const memory = new EpisodicMemory(store, new CountingEmbeddings(), { embeddingsId: EMB });
  await memory.add("alice", ALICE_HISTORY.slice(0, 2));

  // What a process killed halfway through adding the third entry leaves behind: the entry
  // written, the meta count not yet raised.
  const orphan = ALICE_HISTORY[2]!;
  await store.put(userNamespace("alice", "episodic"), entryId(orphan), {
    id: entryId(orphan),
    seq: 2,
    query: orphan.query,
    response: orphan.response,
    timestamp: orphan.timestamp,
    metadata: {},
  });

  expect((await memory.list("alice")).map((e) => e.response)).toEqual(["sci-fi", "sci-fi"]);
  expect(await memory.count("alice")).toBe(2);
  expect((await memory.retrieve("alice", orphan.query, 4)).map((m) => m.id)).not.toContain(entryId(orphan));

  expect(await memory.add("alice", ALICE_HISTORY)).toEqual({ added: 2, skipped: 2 });
  expect((await memory.list("alice")).map((e) => e.response)).toEqual(["sci-fi", "sci-fi", "dystopia", "sci-fi"]);
  expect((await memory.retrieve("alice", orphan.query, 1))[0]!.id).toBe(entryId(orphan));
});

test("interleaved adds through three connections to one SQLite file never lose entries", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const file = join(mkdtempSync(join(tmpdir(), "episodic-")), "store.sqlite");
  const memories = [0, 1, 2].map(
    () => new EpisodicMemory(new SqliteStore(file), new CountingEmbeddings(), { embeddingsId: EMB }),
  );
  const batches = [0, 1, 2].map((b) =>
    Array.from({ length: 10 }, (_, i) => ({ query: `q${b}-${i}`, response: "r", timestamp: "2024-01-01T00:00:00Z" })),
  );
  await Promise.all(memories.map((m, b) => m.add("carol", batches[b]!)));
  const all = await memories[0]!.list("carol");
  expect(all).toHaveLength(30);
  expect(new Set(all.map((e) => e.seq)).size).toBe(30);
});

test("two writers rebuilding and saving one user's index at once both succeed (derived data never fails a command)", async () => {
  const { mkdtempSync, readdirSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const root = mkdtempSync(join(tmpdir(), "episodic-race-"));
  const indexDir = join(root, "indexes");
  const file = join(root, "store.sqlite");
  // Separate instances stand for separate processes: each has its own index cache and writes
  // the same index directory.
  for (let round = 0; round < 5; round++) {
    const writers = [0, 1, 2].map(
      () => new EpisodicMemory(new SqliteStore(file), new CountingEmbeddings(), { embeddingsId: EMB, indexDir }),
    );
    const batches = writers.map((_, w) =>
      Array.from({ length: 40 }, (_, i) => ({
        query: `round ${round} writer ${w} item ${i}`,
        response: "r",
        timestamp: "2024-01-01T00:00:00Z",
      })),
    );
    await expect(Promise.all(writers.map((m, w) => m.add("dora", batches[w]!)))).resolves.toHaveLength(3);
  }
  const reader = new EpisodicMemory(new SqliteStore(file), new CountingEmbeddings(), { embeddingsId: EMB, indexDir });
  expect(await reader.count("dora")).toBe(5 * 3 * 40);
  expect(await reader.retrieve("dora", "round 4 writer 2 item 7", 1)).toHaveLength(1);
  expect(readdirSync(indexDir).filter((n) => n.includes(".tmp-"))).toEqual([]);
});
