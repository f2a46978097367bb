/** `npm run demo` (the README's main job) end to end, on an OpenAI-compatible server. */
import { execFile } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Agent turns retrieve memories and search Wikipedia (unreachable here), then answer. */
function provider(req: RecordedChatRequest): ScriptedReply {
  const text = lastUserText(req);
  if (req.tools) {
    if (req.messages.at(-1)?.role === "tool") return { content: "sci-fi" };
    return {
      toolCalls: [
        { name: "memory_retrieval", args: { query: text } },
        { name: "wikipedia_search", args: { query: "film genre" } },
      ],
    };
  }
  const step = parseAlignmentPrompt(text)?.step; // LLM_grad / LLM_update of either prompt set
  if (step === "update") return { content: "ALIGNED: this user tags almost everything sci-fi or dystopia." };
  if (step === "grad") return { content: "Prefer dystopia for stories about machines in control." };
  return { content: "PROFILE: a science-fiction fan." };
}

/** Runs `npm run demo`'s script with `args` against the scripted server; PERSONA_AGENT_DEMO_DIR only when `dataDir` is given. */
function runDemo(
  server: OpenAITestServer,
  args: string[] = [],
  dataDir?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [`${ROOT}node_modules/tsx/dist/cli.mjs`, `${ROOT}scripts/demo.ts`, ...args],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          OPENAI_BASE_URL: server.url,
          PERSONA_AGENT_MODEL: "openai:demo",
          ...(dataDir ? { PERSONA_AGENT_DEMO_DIR: dataDir } : {}),
          PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/",
          PERSONA_AGENT_MAX_RETRIES: "0",
        },
        timeout: 120_000,
      },
      (error, out, err) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out, stderr: err }),
    ),
  );
}

/** The data folder the demo says it uses. */
const dataDirOf = (stdout: string) => /^PersonaAgent demo: model .*, data in (.+)$/m.exec(stdout)?.[1] ?? "";

describe("npm run demo", () => {
  let server: OpenAITestServer;
  beforeAll(async () => {
    server = await startOpenAIServer(provider);
  });
  afterAll(() => server.close());

  test("ingests, asks, aligns through feedback and shows the persona before and after, with its progress on stderr", async () => {
    const dataDir = tempDir();
    const { code, stdout, stderr } = await runDemo(server, [], dataDir);
    expect(code).toBe(0);
    // Each step announced as it starts; the alignment's own progress (plain lines off a terminal) in between; nothing else.
    const steps = stderr.split("\n").filter((line) => line.startsWith("demo: "));
    expect(steps).toEqual(
      ["ingest", "persona", "ask", "ask", "feedback", "feedback", "persona"].map(
        (command, i) => `demo: step ${i + 1}/7: persona-agent ${command}`,
      ),
    );
    const others = stderr.split("\n").filter((line) => line !== "" && !line.startsWith("demo: "));
    expect(others.length).toBeGreaterThan(0);
    for (const line of others) expect(line).toMatch(/^persona-agent: alignment iteration 1\/1: .* \d\/\d$/);
    expect(stdout).toMatch(/=== persona before \(v1\) ===\n[\s\S]*PROFILE: a science-fiction fan\./);
    // The tool that failed (Wikipedia is unreachable) says so in the summary.
    expect(stdout).toMatch(
      /=== ask: .*\nsci-fi\n\(tools: memory_retrieval\(\{"query":"[^"]+"\}\), wikipedia_search\(\{"query":"film genre"\}\) FAILED: .+\)\n/,
    );
    expect(stdout).toMatch(
      /=== persona after \(v2\) ===\nALIGNED: this user tags almost everything sci-fi or dystopia\./,
    );
    // It ends with what changed, the feedback that changed it, and where the data is.
    const diff = /=== what changed \(v1 -> v2[^\n]*===\n([\s\S]*?)\n\n===/.exec(stdout)?.[1] ?? "";
    expect(diff).toContain("+ ALIGNED: this user tags almost everything sci-fi or dystopia.");
    expect(diff).toMatch(/^-.*PROFILE: a science-fiction fan\./m);
    expect(stdout).toMatch(
      /=== the feedback that produced it[^\n]*===\nquery: .*\n {2}the user said: (dystopia|sci-fi)\n {2}the agent said: sci-fi\n {2}feedback: Prefer dystopia for stories about machines in control\./,
    );
    const data = stdout.slice(stdout.indexOf("=== where the data is ==="));
    expect(data).toContain(`${dataDir}/store.sqlite`);
    expect(data).toContain(`persona-agent --data-dir ${dataDir} forget --user movie-fan`);
    expect(stdout.trimEnd().endsWith(`forget --user movie-fan`)).toBe(true);
    expect(existsSync(join(dataDir, "store.sqlite"))).toBe(true); // a folder the user named is theirs
  });

  test("its temporary folder is removed at the end unless asked to keep it (--keep)", async () => {
    const removed = await runDemo(server);
    expect(removed.code).toBe(0);
    const temporary = dataDirOf(removed.stdout);
    expect(temporary).toMatch(/persona-agent-demo-/);
    expect(existsSync(temporary)).toBe(false);
    expect(removed.stdout.trimEnd()).toMatch(/removed now; run `npm run demo -- --keep` to keep it and look inside\)$/);

    const kept = await runDemo(server, ["--keep"]);
    expect(kept.code).toBe(0);
    const folder = dataDirOf(kept.stdout);
    expect(existsSync(join(folder, "store.sqlite"))).toBe(true);
    expect(kept.stdout).toContain(`npx persona-agent --data-dir ${folder} persona --user movie-fan --history`);
    rmSync(folder, { recursive: true, force: true });
  });

  test("a failed step removes the temporary folder too", async () => {
    const refusing = await startOpenAIServer(() => ({
      status: 401,
      body: { error: { message: "bad key", type: "auth" } },
    }));
    const down = await runDemo(refusing).finally(() => refusing.close());
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/demo: stopped at "persona-agent ingest"/);
    expect(existsSync(dataDirOf(down.stdout))).toBe(false);
  });
});
