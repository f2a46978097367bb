/**
 * First use races (issue 21, failure 11): PostgreSQL's set-up runs once at a time, so concurrent
 * first uses of a fresh database all succeed; concurrent first ingests of a new user create one
 * "initialized" persona version, not one each.
 */
import { openPersistence } from "../../src/store/open.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { runCli, scriptedEnv } from "../support/cli.js";
import { BACKENDS, createTestDatabase, describeWithPostgres } from "../support/postgres.js";
import { writeJsonl } from "../faults/support.js";

describeWithPostgres("PostgreSQL first use", () => {
  test("four concurrent opens of each of three fresh databases all succeed", async () => {
    for (let round = 0; round < 3; round++) {
      const database = await createTestDatabase();
      try {
        const opened = await Promise.allSettled(
          Array.from({ length: 4 }, () =>
            openPersistence({ dataDir: tempDir("first-use-"), databaseUrl: database.url }),
          ),
        );
        for (const result of opened) if (result.status === "fulfilled") await result.value.close();
        expect(opened.map((r) => (r.status === "rejected" ? String(r.reason) : "ok"))).toEqual([
          "ok",
          "ok",
          "ok",
          "ok",
        ]);
      } finally {
        await database.drop();
      }
    }
  }, 60_000);
});

describe.each(BACKENDS)("concurrent first ingests of a new user on %s", (_name, usePostgres) => {
  let server: OpenAITestServer;
  beforeAll(async () => {
    server = await startOpenAIServer(() => ({ content: "Profile: a sci-fi fan" }));
  });
  afterAll(() => server.close());

  test("create one initialized persona version", async () => {
    const database = usePostgres ? await createTestDatabase() : undefined;
    try {
      const dataDir = tempDir("first-ingest-");
      const env = scriptedEnv(server.url, dataDir, { PERSONA_AGENT_DATABASE_URL: database?.url });
      // Set up before the race, so it is the ingests that race, not the first use of the database.
      expect((await runCli(["persona", "--user", "someone-else"], env)).code).toBe(2);
      const file = writeJsonl(dataDir, "h.jsonl", ALICE_HISTORY);
      const ingests = await Promise.all(
        Array.from({ length: 3 }, () => runCli(["ingest", "--user", "newcomer", "--file", file, "--json"], env)),
      );
      expect(ingests.map((r) => [r.code, r.stderr])).toEqual(Array.from({ length: 3 }, () => [0, ""]));
      expect(ingests.map((r) => JSON.parse(r.stdout).personaVersion)).toEqual([1, 1, 1]);
      expect(ingests.filter((r) => JSON.parse(r.stdout).personaCreated)).toHaveLength(1);
      const persona = JSON.parse((await runCli(["persona", "--user", "newcomer", "--history", "--json"], env)).stdout);
      expect(persona.history.map((v: { version: number; origin: string }) => [v.version, v.origin])).toEqual([
        [1, "initialized"],
      ]);
    } finally {
      await database?.drop();
    }
  }, 60_000);
});
