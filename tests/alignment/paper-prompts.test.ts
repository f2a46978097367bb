/**
 * The `paper` prompt set is the project's one copy of the paper's Appendices A-C (Zhang et al.
 * 2025, PersonaAgent, arXiv:2506.06254): each file's text is pinned by a digest, its header
 * names the appendix it is from, and with default settings the requests Bedrock (the paper's
 * provider, here the scripted server) receives for persona initialization, the two tool
 * descriptions, LLM_grad and LLM_update are those texts with only the placeholders filled.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderSetPrompt, SET_PROMPTS, setPrompt, type SetPrompt } from "../../src/prompts/prompts.js";
import { startBedrockServer, type BedrockTestServer, type RecordedConverseRequest } from "../support/bedrock-server.js";
import { lastUserText, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";
import { runCli } from "../support/cli.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { promptSetDiff } from "../../scripts/prompt-diff.js";

const PROMPTS_DIR = fileURLToPath(new URL("../../prompts/", import.meta.url));

/**
 * SHA-256 of each paper prompt's text as the loader returns it (header stripped): the words of
 * the appendix that reach a model. A change to one is a change to the paper's method. Update a
 * digest only after checking the file against the paper (arXiv:2506.06254, the appendix its
 * header names) and only when the file is now closer to it; the failure message prints the new
 * digest. `source` is what the header must name; `placeholders` are the paper's bracketed
 * placeholders the file fills, as {name}.
 */
const PAPER_PROMPTS: Record<SetPrompt, { sha256: string; source: RegExp; placeholders: Record<string, string> }> = {
  feedback: {
    sha256: "df46f9323ab8f63064db9e3c99d9daea61b6613fdf56d2f32dd4f7557fc1f7bc",
    source: /Appendix A\b.*LLM_grad/,
    placeholders: { question: "[Question]", truth: "[Ground Truth]", response: "[Response]" },
  },
  update: {
    sha256: "da7cf49d5907772fcb7c3ab5c32d0e1f99792f006eb7d6e21ae77ae22675ec5c",
    source: /Appendix A\b.*LLM_update/,
    placeholders: { persona: "[Current Persona]", feedback: "[Aggregated Feedback]" },
  },
  persona_init: {
    sha256: "21a6eedbd1abafc785a7dc08f411b95d815fcea22b03b4c2c34a85e9a24afc3d",
    source: /Appendix B\b/,
    placeholders: { profile: "[Initial Semantic Memory]" },
  },
  "tools/wikipedia_search": {
    sha256: "3cdbf190c6cfd15c3fa340417a796645cc20729d6344231e9aee134b5d3c7f10",
    source: /Appendix C\b.*Wikipedia/,
    placeholders: {},
  },
  "tools/memory_retrieval": {
    sha256: "cbbb39b86ca99c975276f9ceee762c1e831330747d8cf01c3d9037db623e1a6d",
    source: /Appendix C\b.*RAG/,
    placeholders: {},
  },
};

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** A paper prompt with its {placeholders} replaced by `values`, by plain string replacement (not the code under test). */
function fill(name: SetPrompt, values: Record<string, string>): string {
  return Object.entries(values).reduce(
    (text, [placeholder, value]) => text.split(`{${placeholder}}`).join(value),
    setPrompt("paper", name),
  );
}

test("every prompt of a set is pinned here", () => {
  expect(Object.keys(PAPER_PROMPTS).sort()).toEqual([...SET_PROMPTS].sort());
});

test.each(SET_PROMPTS)(
  "prompts/paper/%s.md: the appendix text as pinned, its header names the appendix and the paper, its placeholders are the paper's",
  (name) => {
    const { sha256: pinned, source, placeholders } = PAPER_PROMPTS[name];
    const text = setPrompt("paper", name);
    const digest = sha256(text);
    if (digest !== pinned) {
      throw new Error(
        `prompts/paper/${name}.md changed (sha256 ${digest}, pinned ${pinned}). It is the paper's own text: check it against arXiv:2506.06254 and, only if the change is deliberate, pin the new digest in this test.`,
      );
    }
    const [header, ...body] = readFileSync(join(PROMPTS_DIR, "paper", `${name}.md`), "utf8").split("\n");
    expect(header).toMatch(/^<!-- .* -->$/);
    expect(header).toMatch(source);
    expect(header).toMatch(/arXiv:2506\.06254/);
    for (const [placeholder, paper] of Object.entries(placeholders))
      expect(header).toContain(`{${placeholder}} fills ${paper}`);
    expect(body.join("\n").trim()).toBe(text); // the header never reaches a model
    expect([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()).toEqual(Object.keys(placeholders).sort());
    expect(text).not.toMatch(/\[[A-Z][A-Za-z ]+\]/); // no placeholder of the paper's left unfilled
  },
);

test("the tuned set has the same prompts, each with a header saying what it replaces", () => {
  for (const name of SET_PROMPTS) {
    expect(readFileSync(join(PROMPTS_DIR, "tuned", `${name}.md`), "utf8")).toMatch(/^<!-- The tuned .* -->\n/);
    expect(setPrompt("tuned", name)).not.toContain("<!--");
    expect(setPrompt("tuned", name)).not.toBe(setPrompt("paper", name));
  }
});

test("docs/PROMPTS.md holds the current line diff of the two sets", () => {
  const doc = readFileSync(fileURLToPath(new URL("../../docs/PROMPTS.md", import.meta.url)), "utf8");
  const embedded = doc.slice(doc.indexOf("<!-- prompt-diff:start -->\n") + 27, doc.indexOf("<!-- prompt-diff:end -->"));
  expect(embedded).toBe(promptSetDiff("paper", "tuned"));
});

describe("requests on Bedrock (scripted server) through the CLI", () => {
  const PROFILE = "PROFILE: watches many films";
  const MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0";
  let server: BedrockTestServer;
  let file: string;

  /** Agent turns retrieve once then answer; LLM_grad/LLM_update replies are numbered; anything else is the profile summary. */
  function respond(req: RecordedConverseRequest) {
    if (req.toolConfig)
      return toolResults(req).length === 0
        ? toolCall("memory_retrieval", { query: lastUserText(req) })
        : { content: "sci-fi" };
    const step = parseAlignmentPrompt(lastUserText(req));
    if (step?.step === "grad") return { content: `FEEDBACK on ${step.values.question}` };
    if (step?.step === "update") return { content: "ALIGNED PERSONA" };
    return { content: PROFILE };
  }

  beforeAll(async () => {
    server = await startBedrockServer(respond);
    file = join(tempDir(), "alice.jsonl");
    writeFileSync(file, ALICE_HISTORY.map((e) => JSON.stringify(e)).join("\n"));
  });
  afterAll(() => server.close());

  function env(extra: Record<string, string> = {}) {
    return {
      PERSONA_AGENT_MODEL: `bedrock:${MODEL_ID}`,
      PERSONA_AGENT_DATA_DIR: join(tempDir(), "data"),
      PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php",
      PERSONA_AGENT_MAX_RETRIES: "0",
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: server.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      ...extra,
    };
  }

  async function ingestAndAlign(settings: Record<string, string>) {
    const start = server.requests.length;
    expect((await runCli(["ingest", "--user", "alice", "--file", file], settings)).code).toBe(0);
    const aligned = await runCli(["align", "--user", "alice", "--json"], settings);
    expect(aligned.code).toBe(0);
    expect(aligned.stderr).not.toMatch(/persona-agent:/); // the AWS SDK may warn about the Node version
    const requests = server.requests.slice(start);
    const agent = requests.filter((r) => r.toolConfig);
    const steps = requests.map((r) => parseAlignmentPrompt(lastUserText(r)));
    return {
      agent,
      grads: requests.filter((_, i) => steps[i]?.step === "grad"),
      updates: requests.filter((_, i) => steps[i]?.step === "update"),
      sets: steps.flatMap((s) => s?.set ?? []),
      toolDescriptions: Object.fromEntries(
        agent[0]!.toolConfig.tools.map((t: { toolSpec: { name: string; description: string } }) => [
          t.toolSpec.name,
          t.toolSpec.description,
        ]),
      ),
    };
  }

  test("default settings: persona, tool descriptions, LLM_grad and LLM_update are the pinned appendix texts word for word; no true answer reaches LLM_update", async () => {
    const { agent, grads, updates, sets, toolDescriptions } = await ingestAndAlign(env());
    const persona = fill("persona_init", { profile: PROFILE });
    expect(agent.length).toBeGreaterThanOrEqual(6); // 3 replays, each a retrieval turn and an answer turn
    for (const req of agent) expect(systemText(req)).toBe(persona);
    expect(toolDescriptions).toEqual({
      wikipedia_search: setPrompt("paper", "tools/wikipedia_search"),
      memory_retrieval: setPrompt("paper", "tools/memory_retrieval"),
    });

    const batch = ALICE_HISTORY.slice(-3);
    expect(grads.map(lastUserText).sort()).toEqual(
      batch.map((e) => fill("feedback", { question: e.query, truth: e.response, response: "sci-fi" })).sort(),
    );
    expect(updates).toHaveLength(1);
    const feedback = batch.map((e, i) => `[${i + 1}] FEEDBACK on ${e.query}`).join("\n\n");
    const update = lastUserText(updates[0]!);
    expect(update).toBe(fill("update", { persona, feedback }));
    for (const e of batch) expect(update).not.toContain(e.response);
    expect(new Set(sets)).toEqual(new Set(["paper"]));
  });

  test("PERSONA_AGENT_PROMPTS=tuned: the same run with the tuned files", async () => {
    const { agent, grads, updates, sets, toolDescriptions } = await ingestAndAlign(
      env({ PERSONA_AGENT_PROMPTS: "tuned" }),
    );
    const persona = await renderSetPrompt("tuned", "persona_init", { profile: PROFILE });
    for (const req of agent) expect(systemText(req)).toBe(persona);
    expect(toolDescriptions).toEqual({
      wikipedia_search: setPrompt("tuned", "tools/wikipedia_search"),
      memory_retrieval: setPrompt("tuned", "tools/memory_retrieval"),
    });
    expect(grads).toHaveLength(3);
    expect(updates).toHaveLength(1);
    expect(new Set(sets)).toEqual(new Set(["tuned"]));
    // The tuned LLM_update sees the true answers (documented in docs/PROMPTS.md).
    expect(lastUserText(updates[0]!)).toContain(`User's true answer: ${ALICE_HISTORY[3]!.response}`);
  });
});
