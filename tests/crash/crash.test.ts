/**
 * SIGKILL in the middle of `ingest` and `align`, then start again: nothing half-written is
 * visible, no persona version is lost, and the next run succeeds. On SQLite and PostgreSQL.
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BaseStore } from "@langchain/langgraph";
import { PostgresStore } from "@langchain/langgraph-checkpoint-postgres/store";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { runCli, spawnCli } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { listAll } from "../../src/store/list.js";
import { userNamespace } from "../../src/users/users.js";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { UniversalSentenceEncoderEmbeddings } from "../../src/models/embeddings.js";

const USER = "crash-user";
const ENTRIES = 300;

type Kind = "summary" | "agent" | "feedback" | "update";
function kindOf(req: RecordedChatRequest): Kind {
  if (req.tools) return "agent";
  const step = parseAlignmentPrompt(lastUserText(req))?.step; // LLM_grad / LLM_update of either prompt set
  return step === "grad" ? "feedback" : (step ?? "summary");
}

const backends: [string, boolean][] = [
  ["SQLite", false],
  ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : []),
];

describe.each(backends)("crash safety on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let store: BaseStore;
  /** When set, a request of this kind calls `onHold` and is never answered in time. */
  let hold: { kind: Kind; onHold: () => void } | undefined;

  function reply(req: RecordedChatRequest): ScriptedReply {
    const kind = kindOf(req);
    if (hold?.kind === kind) {
      hold.onHold();
      return { delayMs: 30_000, then: { content: "too late" } };
    }
    switch (kind) {
      case "summary":
        return { content: "Profile: tags most films sci-fi" };
      case "feedback":
        return { content: "Say sci-fi more often." };
      case "update":
        return { content: `ALIGNED PERSONA ${Date.now()}` };
      default:
        return req.messages.at(-1)?.role === "tool"
          ? { content: "sci-fi" }
          : { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
    }
  }

  /** Starts the command and SIGKILLs it when `point` is reached; resolves after it died. */
  async function killAt(args: string[], point: (kill: () => void) => void): Promise<void> {
    const { child, exited } = spawnCli(args, env);
    point(() => child.kill("SIGKILL"));
    const { signal } = await exited;
    expect(signal).toBe("SIGKILL");
  }

  /** Entries written, committed or not: the kill trigger. */
  const writtenCount = async () => (await listAll(store, userNamespace(USER, "episodic"))).length;
  /** Entries the application can see (what retrieval, alignment and profiles use). */
  const visibleCount = async () =>
    (await new EpisodicMemory(store, new UniversalSentenceEncoderEmbeddings(), { embeddingsId: "x" }).list(USER))
      .length;
  const personaJson = async () => runCli(["persona", "--user", USER, "--json"], env);

  beforeAll(async () => {
    server = await startOpenAIServer(reply);
    dataDir = tempDir();
    database = usePostgres ? await createTestDatabase() : undefined;
    env = {
      OPENAI_BASE_URL: server.url,
      PERSONA_AGENT_MODEL: "openai:test",
      PERSONA_AGENT_DATA_DIR: dataDir,
      PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/",
      PERSONA_AGENT_MAX_RETRIES: "0",
      ...(database ? { PERSONA_AGENT_DATABASE_URL: database.url } : {}),
    };
    const history = Array.from({ length: ENTRIES }, (_, i) =>
      JSON.stringify({
        query: `Tag this movie: story number ${i} about ${["space", "love", "robots"][i % 3]}`,
        response: ["sci-fi", "romance"][i % 2],
        timestamp: new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString(),
      }),
    );
    writeFileSync(join(dataDir, "history.jsonl"), history.join("\n"));
  });

  afterAll(async () => {
    hold = undefined;
    await server.close();
    if (store instanceof SqliteStore) store.close();
    if (store instanceof PostgresStore) await store.stop();
    await database?.drop();
  });

  async function openStore(): Promise<BaseStore> {
    if (!database) return new SqliteStore(join(dataDir, "store.sqlite"));
    const pgStore = PostgresStore.fromConnString(database.url);
    await pgStore.setup();
    return pgStore;
  }

  test("killed while embedding: memory is all or nothing, no persona, and ingest again completes", async () => {
    const ingest = ["ingest", "--user", USER, "--file", join(dataDir, "history.jsonl"), "--json"];
    await killAt(ingest, (kill) => {
      // The entries are committed in one batch before embedding starts: kill once they appear.
      const check = async () => {
        store ??= await openStore().catch(() => undefined as unknown as BaseStore);
        if (store && (await writtenCount().catch(() => 0)) > 0) {
          clearInterval(poll);
          kill();
        }
      };
      const poll = setInterval(() => void check(), 20);
    });
    // All or nothing: SQLite commits the add in one transaction, PostgreSQL writes entry by
    // entry and the meta record is the commit, so the entries written so far stay invisible.
    const visible = await visibleCount();
    expect([0, ENTRIES]).toContain(visible);
    // No persona: an unknown user, or (memories committed) an ingest that did not finish.
    expect((await personaJson()).stderr).toMatch(
      visible === 0 ? /unknown user/ : /has 300 memories but no persona: an ingest did not finish/,
    );

    const again = await runCli(ingest, env);
    expect(again.stderr).toBe("");
    expect(JSON.parse(again.stdout)).toMatchObject({
      added: ENTRIES - visible,
      skipped: visible,
      personaVersion: 1,
      personaCreated: true,
    });
    expect(await visibleCount()).toBe(ENTRIES);
    const indexes = join(dataDir, "indexes");
    expect(readdirSync(indexes).filter((name) => name.includes(".tmp-"))).toEqual([]);
    const ask = JSON.parse(
      (await runCli(["ask", "--user", USER, "--json", "Tag this movie: robots in space"], env)).stdout,
    );
    expect(ask.answer).toBe("sci-fi");
  });

  test("killed while summarizing: the persona is not half-made; ingest again completes", async () => {
    await runCli(["forget", "--user", USER], env);
    const ingest = ["ingest", "--user", USER, "--file", join(dataDir, "history.jsonl"), "--json"];
    await killAt(ingest, (kill) => (hold = { kind: "summary", onHold: kill }));
    hold = undefined;
    expect((await personaJson()).stderr).toMatch(/has 300 memories but no persona: an ingest did not finish/);
    expect(await visibleCount()).toBe(ENTRIES);
    const again = JSON.parse((await runCli(ingest, env)).stdout);
    expect(again).toMatchObject({ added: 0, profileUpdated: true, personaVersion: 1, personaCreated: true });
  });

  test("killed while LLM_update is in flight: the persona stays; the next align makes the next version", async () => {
    await killAt(["align", "--user", USER, "--json"], (kill) => (hold = { kind: "update", onHold: kill }));
    hold = undefined;
    const after = JSON.parse((await personaJson()).stdout);
    expect(after.version).toBe(1);
    expect(after.history.map((v: { version: number }) => v.version)).toEqual([1]);

    const aligned = JSON.parse((await runCli(["align", "--user", USER, "--json"], env)).stdout);
    expect(aligned).toMatchObject({ fromVersion: 1, toVersion: 2 });
    const final = JSON.parse((await personaJson()).stdout);
    expect(final.history.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(final.persona).toMatch(/^ALIGNED PERSONA/);
    expect(existsSync(join(dataDir, "indexes"))).toBe(true);
  });
});
