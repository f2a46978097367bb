/**
 * Forget is exact (issue 21 item 1, failure 1): it finds the user's records by the namespace's
 * labels, never by a string prefix with a limit. With 12,000 namespaces of users whose ids start
 * with "u1" (u10 … u111999, rows inserted directly for speed), forgetting u1 deletes every record
 * of u1 and nothing else, on each store the project runs on: the embedded SQLite store and
 * PostgreSQL as openStore opens them, and the dev server's InMemoryStore. Ids with ".", "%",
 * "_" and ":" likewise.
 */
import type { BaseStore, Operation, OperationResults } from "@langchain/langgraph";
import { InMemoryStore } from "@langchain/langgraph";
import pg from "pg";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { forgetUser } from "../../src/users/forget.js";
import { ServiceUnavailableError } from "../../src/errors/errors.js";
import { openStore } from "../../src/store/open.js";
import type { SqliteStore } from "../../src/store/sqlite-store.js";
import { userNamespace } from "../../src/users/users.js";
import { ALICE_HISTORY, CountingEmbeddings, tempDir } from "../../testing/fixtures.js";
import { createTestDatabase, TEST_DATABASE_URL } from "../support/postgres.js";

const OTHERS = 12_000;
/** The namespace of the i-th other user: ids u10, u11, …, each sharing u1's string prefix. */
const otherNamespace = (i: number) => ["users", `u1${i}`, "episodic"];

interface Backend {
  store: BaseStore;
  /** Inserts one record into each of the OTHERS namespaces, bypassing the store's API for speed. */
  insertOthers(): Promise<void>;
  /** How many records of the OTHERS are stored. */
  countOthers(): Promise<number>;
  close(): Promise<void>;
}

const backends: [string, () => Promise<Backend>][] = [
  [
    "InMemoryStore",
    async () => {
      const store = new InMemoryStore();
      return {
        store,
        insertOthers: async () =>
          void (await store.batch(
            Array.from({ length: OTHERS }, (_, i) => ({ namespace: otherNamespace(i), key: "k", value: { i } })),
          )),
        countOthers: async () =>
          (await store.search(["users"], { limit: 10 * OTHERS })).filter((item) => /^u1\d/.test(item.namespace[1]!))
            .length,
        close: async () => undefined,
      };
    },
  ],
  [
    "SQLite",
    async () => {
      const opened = await openStore({ dataDir: tempDir("forget-exact-"), databaseUrl: undefined });
      const db = (opened.store as SqliteStore).db;
      return {
        store: opened.store,
        insertOthers: async () => {
          const insert = db.prepare(
            "INSERT INTO store_items (namespace, key, value, created_at, updated_at) VALUES (?, 'k', '{}', 0, 0)",
          );
          db.transaction(() => {
            for (let i = 0; i < OTHERS; i++) insert.run(otherNamespace(i).join("."));
          })();
        },
        countOthers: async () =>
          db
            .prepare<[], number>("SELECT count(*) FROM store_items WHERE namespace GLOB 'users.u1[0-9]*'")
            .pluck()
            .get()!,
        close: opened.close,
      };
    },
  ],
];
if (TEST_DATABASE_URL) {
  backends.push([
    "PostgreSQL",
    async () => {
      const database = await createTestDatabase();
      const opened = await openStore({ dataDir: tempDir("forget-exact-"), databaseUrl: database.url });
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return {
        store: opened.store,
        insertOthers: async () =>
          void (await client.query(
            `INSERT INTO store (namespace_path, key, value) SELECT 'users:u1' || g || ':episodic', 'k', '{}'::jsonb FROM generate_series(0, $1) g`,
            [OTHERS - 1],
          )),
        countOthers: async () =>
          (
            await client.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM store WHERE namespace_path ~ '^users:u1[0-9]'",
            )
          ).rows[0]!.n,
        close: async () => {
          await client.end();
          await opened.close();
          await database.drop();
        },
      };
    },
  ]);
}

describe.each(backends)("forget on %s", (_name, open) => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await open();
  });
  afterAll(async () => {
    await backend.close();
  });

  test(`deletes every record of u1 and nothing of ${OTHERS} users whose ids start with "u1"`, async () => {
    const { store } = backend;
    const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
      embeddingsId: "local:universal-sentence-encoder",
    });
    const personas = new PersonaStore(store);
    await memory.add("u1", ALICE_HISTORY);
    await personas.save("u1", "u1 persona", "initialized");
    await backend.insertOthers();

    const { deleted } = await forgetUser(store, memory, "u1");
    // 4 memories + the episodic meta record + a persona version + the persona head
    expect(deleted).toBe(ALICE_HISTORY.length + 1 + 1 + 1);
    expect(await personas.current("u1")).toBeUndefined();
    expect(await memory.count("u1")).toBe(0);
    expect(await backend.countOthers()).toBe(OTHERS);
    expect(await forgetUser(store, memory, "u1")).toEqual({ deleted: 0 });
  }, 60_000);

  test.each(["a.b", "50%", "x_y", "eval:lamp-1:7"])("forgets %p and none of the ids that extend it", async (id) => {
    const { store } = backend;
    const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
      embeddingsId: "local:universal-sentence-encoder",
    });
    const personas = new PersonaStore(store);
    const neighbours = [`${id}0`, `${id}.`, `${id}_`, `${id}%`, `${id}:x`];
    for (const user of [id, ...neighbours]) await personas.save(user, `${user} persona`, "initialized");
    expect((await forgetUser(store, memory, id)).deleted).toBe(2);
    expect(await personas.current(id)).toBeUndefined();
    for (const user of neighbours) expect((await personas.current(user))?.persona).toBe(`${user} persona`);
    expect(userNamespace(id)).toHaveLength(2);
  });
});

test("a store that leaves records behind fails the forget (exit 3) instead of reporting fewer deletions", async () => {
  // Deletes of one key are lost, as a store with a failing replica or a buggy adapter might.
  class LeakyStore extends InMemoryStore {
    override async batch<Op extends readonly Operation[]>(operations: Op): Promise<OperationResults<Op>> {
      return super.batch(
        operations.filter((op) => !("value" in op && op.value === null && op.key === "current")) as unknown as Op,
      );
    }
  }
  const store = new LeakyStore();
  const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
    embeddingsId: "local:universal-sentence-encoder",
  });
  await new PersonaStore(store).save("alice", "alice persona", "initialized");
  await store.put(userNamespace("alice", "profile"), "current", { text: "profile" });
  const forget = forgetUser(store, memory, "alice");
  await expect(forget).rejects.toThrow(
    new ServiceUnavailableError(
      'forget of user "alice" is incomplete: 1 records remain in the store after deleting 3; run forget again',
    ),
  );
  await expect(forget).rejects.toMatchObject({ exitCode: 3 });
});
