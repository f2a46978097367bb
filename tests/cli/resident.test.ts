/**
 * `persona-agent resident`: the real executable keeps running, and the quick commands of other
 * `persona-agent` processes with the same build and environment run in it, with the output,
 * exit codes and model requests they have in a process of their own.
 */
import { existsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { ALICE_HISTORY, BOB_HISTORY, tempDir } from "../../testing/fixtures.js";
import { runCli, scriptedEnv, spawnCli } from "../support/cli.js";
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";

function scriptedProvider(req: RecordedChatRequest): ScriptedReply {
  const user = lastUserText(req);
  if (!req.tools) return { content: user.includes("wormhole") ? "Profile: a sci-fi fan (ALICE)" : "Profile: a romance fan (BOB)" };
  if (req.messages.at(-1)?.role !== "tool") return { toolCalls: [{ name: "memory_retrieval", args: { query: user } }] };
  const memories = req.messages.filter((m: { role: string }) => m.role === "tool").map((m: { content: string }) => m.content).join("\n");
  return { content: memories.includes("sci-fi") ? "sci-fi" : "romance" };
}

const toJsonl = (entries: object[]) => entries.map((e) => JSON.stringify(e)).join("\n") + "\n";

/** Starts `persona-agent resident` and resolves once it listens; `log()` is its stderr so far. */
async function startResident(env: Record<string, string>, args: string[] = []) {
  const { child, exited } = spawnCli(["resident", ...args], env);
  let log = "";
  child.stderr!.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on("data", (chunk: string) => {
      log += chunk;
      if (log.includes("resident process for")) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`resident exited with ${code}: ${log}`)));
  });
  return { child, exited, log: () => log };
}

/**
 * What the model was sent in requests[from..]: messages and tools, which must not depend on where
 * the command ran (the scripted server numbers its tool call ids by request).
 */
const sent = (server: OpenAITestServer, from: number) =>
  JSON.stringify(server.requests.slice(from).map((r) => ({ messages: r.messages, tools: r.tools }))).replace(/call_\d+_\d+/g, "call");

const backends: [string, boolean][] = [["SQLite", false], ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : [])];

describe.each(backends)("persona-agent resident on %s", (_backend, usePostgres) => {
  let server: OpenAITestServer;
  let database: TestDatabase | undefined;
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = usePostgres ? await createTestDatabase() : undefined;
    server = await startOpenAIServer(scriptedProvider);
    dataDir = tempDir("pa-resident-");
    env = scriptedEnv(server.url, dataDir, database ? { PERSONA_AGENT_DATABASE_URL: database.url } : {});
    const files = tempDir("pa-resident-files-");
    for (const [user, history] of [["alice", ALICE_HISTORY], ["bob", BOB_HISTORY]] as const) {
      writeFileSync(join(files, `${user}.jsonl`), toJsonl(history));
      expect((await runCli(["ingest", "--user", user, "--file", join(files, `${user}.jsonl`), "--task", "lamp-2m"], env)).code).toBe(0);
    }
  });

  afterAll(async () => {
    await server.close();
    await database?.drop();
  });

  test("ask, persona and forget run in the resident process with their own process's output, exit codes and model requests", async () => {
    const query = "Tag this movie: a colony ship drifts past Jupiter";
    // Each command first in a process of its own (no resident yet) ...
    let from = server.requests.length;
    const askAlone = await runCli(["ask", "--user", "alice", "--json", query], env);
    const askAloneSent = sent(server, from);
    const personaAlone = await runCli(["persona", "--user", "alice", "--history"], env);
    const unknownAlone = await runCli(["ask", "--user", "nobody", "hello"], env);
    expect(askAlone.code).toBe(0);
    expect(unknownAlone.code).toBe(2);

    // ... then the same through the resident process.
    const resident = await startResident(env);
    try {
      from = server.requests.length;
      const ask = await runCli(["ask", "--user", "alice", "--json", query], env);
      expect(ask.code).toBe(0);
      expect(JSON.parse(ask.stdout)).toEqual({ ...JSON.parse(askAlone.stdout), thread: expect.any(String) });
      expect(JSON.parse(ask.stdout).thread).not.toBe(JSON.parse(askAlone.stdout).thread);
      expect(sent(server, from)).toEqual(askAloneSent);
      expect(await runCli(["persona", "--user", "alice", "--history"], env)).toEqual(personaAlone);
      expect(await runCli(["ask", "--user", "nobody", "hello"], env)).toEqual(unknownAlone);
      expect(resident.log()).toMatch(/ask: exit 0 in \d+ ms\n.*persona: exit 0 in \d+ ms\n.*ask: exit 2 in \d+ ms\n/);
      // The log names commands, never users or queries.
      expect(resident.log()).not.toMatch(/alice|nobody|Jupiter/);

      // Bob's turn in the same process: his persona and memories only.
      from = server.requests.length;
      const bob = await runCli(["ask", "--user", "bob", query], env);
      expect(bob).toMatchObject({ code: 0, stdout: "romance\n" });
      const bobSent = sent(server, from);
      expect(bobSent).toContain("BOB");
      expect(bobSent).not.toMatch(/ALICE|wormhole/);

      // Forget in the resident process: the user is gone for every later command.
      const forget = await runCli(["forget", "--user", "alice"], env);
      expect(forget.code).toBe(0);
      expect(resident.log()).toMatch(/forget: exit 0/);
      const after = await runCli(["ask", "--user", "alice", query], env);
      expect(after.code).toBe(2);
      expect(after.stderr).toMatch(/unknown user "alice"/);
    } finally {
      resident.child.kill("SIGTERM");
    }
    expect(await resident.exited).toEqual({ code: 0, signal: null });
    expect(resident.log()).toMatch(/resident process stopped\n$/);
    expect(existsSync(join(dataDir, "resident.sock"))).toBe(false);
  });

  test("a command with another environment, or PERSONA_AGENT_RESIDENT=off, runs in its own process", async () => {
    const resident = await startResident(env);
    try {
      const own = await runCli(["ask", "--user", "bob", "Tag this movie: a love letter"], { ...env, PERSONA_AGENT_K: "2" });
      expect(own).toMatchObject({ code: 0, stdout: "romance\n" });
      expect(resident.log()).not.toMatch(/ask:/);
      const off = await runCli(["ask", "--user", "bob", "Tag this movie: a love letter"], { ...env, PERSONA_AGENT_RESIDENT: "off" });
      expect(off).toMatchObject({ code: 0, stdout: "romance\n" });
      expect(resident.log()).not.toMatch(/ask:/);
      const served = await runCli(["ask", "--user", "bob", "Tag this movie: a love letter"], env);
      expect(served).toMatchObject({ code: 0, stdout: "romance\n" });
      expect(resident.log()).toMatch(/ask: exit 0/);
    } finally {
      resident.child.kill("SIGTERM");
      await resident.exited;
    }
  });
});

/** As scriptedProvider, 3 s late for a query that says "[slow]". */
async function slowWhenAsked(req: RecordedChatRequest): Promise<ScriptedReply> {
  if (lastUserText(req).includes("[slow]")) await new Promise((resolve) => setTimeout(resolve, 3000));
  return scriptedProvider(req);
}

/** Waits until `condition` holds (checked every 20 ms, for at most 10 s). */
async function until(condition: () => boolean): Promise<void> {
  for (const started = Date.now(); !condition(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() - started > 10_000) throw new Error("timed out waiting");
  }
}

describe("persona-agent resident: lifetime", () => {
  let server: OpenAITestServer;
  let env: Record<string, string>;
  let dataDir: string;

  beforeAll(async () => {
    server = await startOpenAIServer(slowWhenAsked);
    dataDir = tempDir("pa-resident-");
    env = scriptedEnv(server.url, dataDir);
    const file = join(tempDir("pa-resident-files-"), "bob.jsonl");
    writeFileSync(file, toJsonl(BOB_HISTORY));
    expect((await runCli(["ingest", "--user", "bob", "--file", file, "--task", "lamp-2m"], env)).code).toBe(0);
  });

  afterAll(async () => {
    await server.close();
  });

  test("one resident process per data directory; a killed one's socket is taken over", async () => {
    const first = await startResident(env);
    const second = await runCli(["resident"], env);
    expect(second).toMatchObject({ code: 2, stderr: `persona-agent: a resident process already serves ${dataDir}\n` });

    first.child.kill("SIGKILL");
    await first.exited;
    expect(existsSync(join(dataDir, "resident.sock"))).toBe(true); // left behind
    // Nobody listens: the command runs in its own process.
    expect(await runCli(["ask", "--user", "bob", "Tag this movie: a love letter"], env)).toMatchObject({ code: 0, stdout: "romance\n" });

    const next = await startResident(env);
    try {
      expect(await runCli(["persona", "--user", "bob"], env)).toMatchObject({ code: 0 });
      expect(next.log()).toMatch(/persona: exit 0/);
    } finally {
      next.child.kill("SIGINT");
      expect(await next.exited).toEqual({ code: 0, signal: null });
    }
  });

  test("a client that goes away (Ctrl-C) stops its command: no more model calls, no turn kept", async () => {
    const resident = await startResident(env);
    try {
      const before = server.requests.length;
      const client = spawnCli(["ask", "--user", "bob", "--thread", "t1", "--new-thread", "Tag this movie [slow]"], env);
      await until(() => server.requests.length > before); // the agent's first model call, answered in 3 s
      client.child.kill("SIGINT");
      await client.exited;
      await until(() => /ask: exit \d+ in \d+ ms, the client went away/.test(resident.log()));
      await new Promise((resolve) => setTimeout(resolve, 3500)); // past the slow reply: a run going on would call the model again
      expect(server.requests.length).toBe(before + 1);
      const again = await runCli(["ask", "--user", "bob", "--thread", "t1", "Tag this movie: a love letter"], env);
      expect(again).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown thread "t1" of user "bob"/) });
    } finally {
      resident.child.kill("SIGTERM");
      await resident.exited;
    }
  });

  test("what is not a request gets a refusal, and the resident process serves on", async () => {
    /** Sends `bytes` on a new connection to the socket and resolves with the reply. */
    const exchange = (bytes: string) =>
      new Promise<string>((resolve, reject) => {
        let reply = "";
        const socket = connect(join(dataDir, "resident.sock"), () => socket.write(bytes));
        socket.setEncoding("utf8").on("data", (chunk: string) => (reply += chunk));
        socket.on("error", reject).on("close", () => resolve(reply));
      });
    const resident = await startResident(env);
    try {
      expect(JSON.parse(await exchange("junk\n"))).toEqual({ refused: "not a request" });
      expect(JSON.parse(await exchange(`${JSON.stringify({ fingerprint: "x", args: [1] })}\n`))).toEqual({ refused: "not a request" });
      expect(JSON.parse(await exchange("x".repeat((1 << 20) + 1)))).toEqual({ refused: "request too large" });
      expect(JSON.parse(await exchange(`${JSON.stringify({ fingerprint: "someone else's", args: ["ask"] })}\n`))).toEqual({ refused: "another build or environment" });
      expect(await runCli(["persona", "--user", "bob"], env)).toMatchObject({ code: 0 });
      expect(resident.log()).toMatch(/persona: exit 0/);
    } finally {
      resident.child.kill("SIGTERM");
      await resident.exited;
    }
  });

  test("stops by itself after --idle minutes without a command", async () => {
    const resident = await startResident(env, ["--idle", "0.01"]); // 0.6 s
    expect(await resident.exited).toEqual({ code: 0, signal: null });
    expect(resident.log()).toMatch(/stops after 0\.01 idle minutes/);
    expect(existsSync(join(dataDir, "resident.sock"))).toBe(false);
  });

  test("a bad --idle is a usage error", async () => {
    expect(await runCli(["resident", "--idle", "0"], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/--idle must be a number >= 0\.001, got "0"/) });
  });
});
