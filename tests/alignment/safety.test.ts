import { join } from "node:path";
import { InMemoryStore } from "@langchain/langgraph";
import { PersonaConflictError, PersonaStore, lineDiff } from "../../src/persona/persona.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { exactMatchScore, normalizeAnswer } from "../../src/alignment/score.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";
import { openPersistence, type Persistence } from "../../src/store/open.js";
import { userNamespace } from "../../src/users/users.js";
import { align, aliceStore, roleOf, scriptedModel } from "../../testing/alignment-harness.js";

const truthOf = (question: string) => ALICE_HISTORY.find((e) => e.query === question)!.response;

describe("PersonaStore.save", () => {
  test.each([
    ["InMemoryStore", () => new InMemoryStore()],
    ["SqliteStore", () => new SqliteStore(join(tempDir(), "s.sqlite"))],
  ])("%s: a save based on a stale version fails and writes nothing", async (_name, make) => {
    const personas = new PersonaStore(make());
    await personas.save("u", "one", "initialized");
    await personas.save("u", "two", "aligned", undefined, { basedOn: 1 });
    await expect(personas.save("u", "stale", "aligned", undefined, { basedOn: 1 })).rejects.toThrow(
      PersonaConflictError,
    );
    await expect(personas.save("u", "stale", "aligned", undefined, { basedOn: 1 })).rejects.toThrow(
      'the persona of user "u" changed while this run worked on v1 (now v2); nothing was saved, run it again',
    );
    expect((await personas.history("u")).map((v) => v.persona)).toEqual(["one", "two"]);
  });

  test.each([
    ["InMemoryStore", () => new InMemoryStore()],
    ["SqliteStore", () => new SqliteStore(join(tempDir(), "s.sqlite"))],
  ])("%s: 20 concurrent saves get 20 consecutive versions, none overwritten", async (_name, make) => {
    const personas = new PersonaStore(make());
    await Promise.all(Array.from({ length: 20 }, (_, i) => personas.save("u", `p${i}`, "aligned")));
    const history = await personas.history("u");
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(history.map((v) => v.persona)).size).toBe(20);
  });

  test("SqliteStore: two processes' stores (two connections) cannot both take the same version", async () => {
    const path = join(tempDir(), "s.sqlite");
    const a = new PersonaStore(new SqliteStore(path));
    const b = new PersonaStore(new SqliteStore(path));
    await a.save("u", "one", "initialized");
    await a.save("u", "from-a", "aligned", undefined, { basedOn: 1 });
    await expect(b.save("u", "from-b", "aligned", undefined, { basedOn: 1 })).rejects.toThrow(PersonaConflictError);
    expect((await b.history("u")).map((v) => v.persona)).toEqual(["one", "from-a"]);
  });
});

const describePostgres = TEST_DATABASE_URL ? describe : describe.skip;

describePostgres("PersonaStore.saveVersions on PostgreSQL", () => {
  let database: TestDatabase;
  let persistence: Persistence;
  beforeAll(async () => {
    database = await createTestDatabase();
    persistence = await openPersistence({ dataDir: tempDir(), databaseUrl: database.url });
  });
  afterAll(async () => {
    await persistence?.close();
    await database?.drop();
  });

  test("saves every version or none; a version a killed save left past the head is overwritten, never current", async () => {
    const personas = new PersonaStore(persistence.store);
    await personas.save("u", "one", "initialized");
    // What a save killed between its version writes and its head write leaves.
    await persistence.store.put(userNamespace("u", "persona"), "v00000002", {
      version: 2,
      persona: "LEFT BY A KILLED SAVE",
      origin: "aligned",
      createdAt: "",
    });
    expect((await personas.current("u"))!.persona).toBe("one");
    const saved = await personas.saveVersions(
      "u",
      [1, 2, 3].map((i) => ({ persona: `iteration ${i}`, origin: "aligned" as const })),
      { basedOn: 1 },
    );
    expect(saved.map((v) => v.version)).toEqual([2, 3, 4]);
    expect((await personas.history("u")).map((v) => v.persona)).toEqual([
      "one",
      "iteration 1",
      "iteration 2",
      "iteration 3",
    ]);
    await expect(personas.saveVersions("u", [{ persona: "stale", origin: "aligned" }], { basedOn: 1 })).rejects.toThrow(
      PersonaConflictError,
    );
    expect((await personas.current("u"))!.version).toBe(4);
  });
});

describe("concurrent alignments", () => {
  test.each([
    ["InMemoryStore", () => new InMemoryStore()],
    ["SqliteStore", () => new SqliteStore(join(tempDir(), "s.sqlite"))],
  ])("%s: versions stay consecutive and the loser saves nothing", async (_name, make) => {
    const store = await aliceStore(make());
    const runs = await Promise.allSettled([
      align(store, scriptedModel({ update: () => "FROM RUN A" }, 20), { batchSize: 2 }),
      align(store, scriptedModel({ update: () => "FROM RUN B" }, 20), { batchSize: 2 }),
    ]);
    const won = runs.filter((r) => r.status === "fulfilled");
    const lost = runs.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const r of lost) expect(r.reason).toBeInstanceOf(PersonaConflictError);
    const history = await new PersonaStore(store).history("alice");
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: 1 + won.length }, (_, i) => i + 1));
    // every aligned version was derived from the one right before it
    for (const v of history.slice(1)) expect(v.details?.basedOn).toBe(v.version - 1);
  });
});

describe("validation gate", () => {
  // batch = the latest 2 interactions, held out = the 2 before them
  const heldOut = ALICE_HISTORY.slice(0, 2).map((e) => e.query);

  test("keeps a new persona that matches more held-out true responses", async () => {
    const store = await aliceStore();
    const model = scriptedModel({
      agent: (persona, question) => (persona === "BETTER" ? truthOf(question) : "documentary"),
      update: () => "BETTER",
    });
    const result = await align(store, model, { batchSize: 2, validate: true });
    expect(result.iterations[0]!.validation).toEqual({ kept: true, oldScore: 0, newScore: 1, heldOut: 2 });
    expect((await new PersonaStore(store).current("alice"))!).toMatchObject({ version: 2, persona: "BETTER" });
    // the held-out interactions were replayed with both personas, the batch never was
    const validationQuestions = model.calls
      .filter((c) => roleOf(c.messages) === "agent" && c.messages.length === 2)
      .map((c) => c.messages[1]!.text);
    expect(validationQuestions.filter((q) => heldOut.includes(q))).toHaveLength(4);
  });

  test("reverts to the old persona when the new one does worse; the run still succeeds", async () => {
    const store = await aliceStore();
    const before = (await new PersonaStore(store).current("alice"))!;
    const model = scriptedModel({
      agent: (persona, question) => (persona === "WORSE" ? "documentary" : truthOf(question)),
      update: () => "WORSE",
    });
    const result = await align(store, model, { batchSize: 2, validate: true });
    expect(result.iterations[0]).toMatchObject({
      kept: false,
      version: 1,
      validation: { kept: false, oldScore: 1, newScore: 0, heldOut: 2 },
    });
    expect(result.toVersion).toBe(1);
    expect(await new PersonaStore(store).current("alice")).toEqual(before);
  });

  test("needs interactions older than the batch", async () => {
    const store = await aliceStore();
    await expect(align(store, scriptedModel({}), { batchSize: 4, validate: true })).rejects.toThrow(
      'validate needs interactions older than the batch of 4: user "alice" has only 4',
    );
  });

  test("metric: exact match after normalization", () => {
    expect(normalizeAnswer('  "Sci-Fi." ')).toBe("sci-fi");
    expect(
      exactMatchScore([
        { answer: "Sci-fi", truth: "sci-fi" },
        { answer: "sci-fi movie", truth: "sci-fi" },
      ]),
    ).toBe(0.5);
  });
});

test("lineDiff shows removed and added lines only", () => {
  expect(lineDiff("a\nb\nc", "a\nB\nc\nd")).toEqual(["- b", "+ B", "+ d"]);
  expect(lineDiff("same", "same")).toEqual([]);
});
