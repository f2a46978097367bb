import { readdirSync } from "node:fs";
import { InMemoryStore, type BaseStore } from "@langchain/langgraph";
import { PostgresStore } from "@langchain/langgraph-checkpoint-postgres/store";
import { createTestDatabase, TEST_DATABASE_URL } from "../support/postgres.js";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { SemanticMemory } from "../../src/memory/semantic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { forgetUser } from "../../src/users/forget.js";
import { hasPrefix } from "../../src/store/list.js";
import { asUserRun, UserForgottenError } from "../../src/store/lifecycle.js";
import { userFileKey, userNamespace, validateUserId } from "../../src/users/users.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { ALICE_HISTORY, BOB_HISTORY, CountingEmbeddings, tempDir } from "../../testing/fixtures.js";

describe("user ids", () => {
  test("any printable id maps to one namespace label, dots included", () => {
    expect(userNamespace("alice", "persona")).toEqual(["users", "alice", "persona"]);
    expect(userNamespace("user-42@example+x")).toEqual(["users", "user-42@example+x"]);
    expect(userNamespace("a.b_c")).toEqual(["users", `~${Buffer.from("a.b_c").toString("hex")}`]);
    expect(userNamespace("a.b")).not.toEqual(userNamespace("~612e62"));
    for (const id of ["a.b", "x_y", "50%", "back\\slash", "eval:lamp-1:7", "名前"]) {
      expect(userNamespace(id)[1]).toMatch(/^[A-Za-z0-9@+~-]+$/);
    }
  });

  test.each([[""], ["   "], ["x".repeat(129)], ["tab\there"], [undefined], [42]])("rejects %p", (id) => {
    expect(() => validateUserId(id)).toThrow(/invalid user id/);
  });

  test.each([
    ["next line", "a\u0085b"],
    ["right-to-left override", "evil\u202Egnp.exe"],
    ["zero-width space", "ali\u200bce"],
    ["byte order mark", "\ufeffalice"],
    ["soft hyphen", "al\u00adice"],
  ])("rejects a %s (Unicode Cc/Cf)", (_what, id) => {
    expect(() => validateUserId(id)).toThrow("(no control, format or zero-width characters)");
  });

  test("file keys do not reveal the id", () => {
    expect(userFileKey("alice")).toMatch(/^[0-9a-f]{32}$/);
    expect(userFileKey("alice")).not.toContain("alice");
  });
});

const stores: [string, () => Promise<BaseStore>][] = [
  ["InMemoryStore", async () => new InMemoryStore()],
  ["SqliteStore", async () => new SqliteStore(":memory:")],
];
if (TEST_DATABASE_URL) {
  stores.push([
    "PostgresStore",
    async () => {
      const db = await createTestDatabase();
      const store = PostgresStore.fromConnString(db.url);
      await store.setup();
      cleanups.push(async () => {
        await store.stop();
        await db.drop();
      });
      return store;
    },
  ]);
}
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe.each(stores)("forgetUser on %s", (_name, makeStore) => {
  test("deletes every record and the index of one user, and nothing of another", async () => {
    const store = await makeStore();
    const indexDir = tempDir();
    const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
      embeddingsId: "local:universal-sentence-encoder",
      indexDir,
    });
    const semantic = new SemanticMemory(store);
    const personas = new PersonaStore(store);
    for (const [user, history] of [
      ["alice", ALICE_HISTORY],
      ["alice.x", BOB_HISTORY],
      ["alice2", BOB_HISTORY],
      ["bob", BOB_HISTORY],
    ] as const) {
      await memory.add(user, [...history]);
      await semantic.put(user, {
        text: `${user} profile`,
        task: "general",
        basedOn: history.length,
        createdAt: "2024-01-01T00:00:00Z",
      });
      await personas.save(user, `${user} persona`, "initialized");
    }
    expect(readdirSync(indexDir)).toHaveLength(4);

    const { deleted } = await forgetUser(store, memory, "alice");
    // 4 entries + profile + persona version + 2 meta records (episodic revision, persona head)
    expect(deleted).toBe(4 + 1 + 1 + 2);
    // (InMemoryStore keeps listing emptied namespaces; what matters is that no item is left)
    const left = await store.search(userNamespace("alice"), { limit: 1000 });
    expect(left.filter((item) => hasPrefix(item.namespace, userNamespace("alice")))).toEqual([]);
    expect(await memory.retrieve("alice", "wormhole", 4)).toEqual([]);
    expect(await personas.current("alice")).toBeUndefined();
    expect(readdirSync(indexDir).sort()).toEqual(
      [userFileKey("alice.x"), userFileKey("alice2"), userFileKey("bob")].sort(),
    );

    // users whose ids start with "alice" are untouched (PostgresStore matches prefixes as strings)
    expect(await memory.count("alice.x")).toBe(3);
    expect((await memory.list("alice2")).map((e) => e.response)).toEqual(["romance", "romance", "romance"]);
    expect((await personas.current("alice2"))!.persona).toBe("alice2 persona");
    expect((await personas.current("bob"))!.persona).toBe("bob persona");
    expect(await forgetUser(store, memory, "alice")).toEqual({ deleted: 0 });
  });
});

describe("forget during an add", () => {
  test("the embedding cache the add wrote after the forget is removed with the refused add (issue 21, failure 3)", async () => {
    const store = new SqliteStore(":memory:");
    const indexDir = tempDir();
    let forgotten = false;
    // The user is forgotten while the add embeds; the cache file is written after the forget's own cleanup.
    class ForgetMidway extends CountingEmbeddings {
      override async embedDocuments(texts: string[]): Promise<number[][]> {
        const vectors = await super.embedDocuments(texts);
        if (!forgotten) {
          forgotten = true;
          await forgetUser(store, memory, "alice");
        }
        return vectors;
      }
    }
    const memory: EpisodicMemory = new EpisodicMemory(store, new ForgetMidway(), {
      embeddingsId: "local:universal-sentence-encoder",
      indexDir,
    });
    await expect(asUserRun(store, "alice", () => memory.add("alice", [...ALICE_HISTORY]))).rejects.toThrow(
      UserForgottenError,
    );
    expect(readdirSync(indexDir)).toEqual([]);
    expect(await memory.count("alice")).toBe(0);
  });
});
