/** `npm run demo` (the README's main job) end to end, on an OpenAI-compatible server. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function provider(req: RecordedChatRequest): ScriptedReply {
  const text = lastUserText(req);
  if (req.tools) {
    return req.messages.at(-1)?.role === "tool" ? { content: "sci-fi" } : { toolCalls: [{ name: "memory_retrieval", args: { query: text } }] };
  }
  const step = parseAlignmentPrompt(text)?.step; // LLM_grad / LLM_update of either prompt set
  if (step === "update") return { content: "ALIGNED: this user tags almost everything sci-fi or dystopia." };
  if (step === "grad") return { content: "Prefer dystopia for stories about machines in control." };
  return { content: "PROFILE: a science-fiction fan." };
}

describe("npm run demo", () => {
  let server: OpenAITestServer;
  beforeAll(async () => {
    server = await startOpenAIServer(provider);
  });
  afterAll(() => server.close());

  test("ingests, asks, aligns through feedback and shows the persona before and after", async () => {
    const dataDir = tempDir();
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [`${ROOT}node_modules/tsx/dist/cli.mjs`, `${ROOT}scripts/demo.ts`],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, OPENAI_BASE_URL: server.url, PERSONA_AGENT_MODEL: "openai:demo", PERSONA_AGENT_DEMO_DIR: dataDir, PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/", PERSONA_AGENT_MAX_RETRIES: "0" },
          timeout: 120_000,
        },
        (error, out, err) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out, stderr: err }),
      ),
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toMatch(/=== persona before \(v1\) ===\n[\s\S]*PROFILE: a science-fiction fan\./);
    expect(stdout).toMatch(/=== ask: .*\nsci-fi\n\(tools: memory_retrieval/);
    expect(stdout).toMatch(/=== persona after \(v2\) ===\nALIGNED: this user tags almost everything sci-fi or dystopia\./);
    // It ends with what changed, the feedback that changed it, and where the data is.
    const diff = /=== what changed \(v1 -> v2[^\n]*===\n([\s\S]*?)\n\n===/.exec(stdout)?.[1] ?? "";
    expect(diff).toContain("+ ALIGNED: this user tags almost everything sci-fi or dystopia.");
    expect(diff).toMatch(/^-.*PROFILE: a science-fiction fan\./m);
    expect(stdout).toMatch(/=== the feedback that produced it[^\n]*===\nquery: .*\n {2}the user said: (dystopia|sci-fi)\n {2}the agent said: sci-fi\n {2}feedback: Prefer dystopia for stories about machines in control\./);
    const data = stdout.slice(stdout.indexOf("=== where the data is ==="));
    expect(data).toContain(`${dataDir}/store.sqlite`);
    expect(data).toContain(`persona-agent --data-dir ${dataDir} forget --user movie-fan`);
    expect(stdout.trimEnd().endsWith(`forget --user movie-fan`)).toBe(true);
  });
});
