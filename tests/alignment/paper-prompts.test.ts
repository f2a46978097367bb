/**
 * The `paper` prompt set is the paper's text: each prompt file equals its appendix in
 * docs/PAPER.md (placeholders aside), and with default settings the requests Bedrock (the paper's
 * provider, here the scripted server) receives for persona initialization, the two tool
 * descriptions, LLM_grad and LLM_update are the appendix texts with only the placeholders filled.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderSetPrompt, setPrompt, type SetPrompt } from "../../src/prompts.js";
import { startBedrockServer, type BedrockTestServer, type RecordedConverseRequest } from "../support/bedrock-server.js";
import { lastUserText, systemText, toolCall, toolResults } from "../../testing/scripted-chat.js";
import { runCli } from "../support/cli.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";
import { promptSetDiff } from "../../scripts/prompt-diff.js";

const PAPER = readFileSync(fileURLToPath(new URL("../../../shared/docs/PAPER.md", import.meta.url)), "utf8");
const PROMPTS_DIR = fileURLToPath(new URL("../../prompts/", import.meta.url));

/** The text of the first code block after `heading` in PAPER.md. */
function appendix(heading: string): string {
  const at = PAPER.indexOf(heading);
  if (at < 0) throw new Error(`PAPER.md has no "${heading}"`);
  const start = PAPER.indexOf("```\n", at) + 4;
  return PAPER.slice(start, PAPER.indexOf("\n```", start));
}

const APPENDIX: Record<SetPrompt, { text: string; source: RegExp }> = {
  feedback: { text: appendix("### Loss gradient / feedback prompt (LLM_grad)"), source: /Appendix A\b.*LLM_grad/ },
  update: { text: appendix("### Gradient update prompt (LLM_update)"), source: /Appendix A\b.*LLM_update/ },
  persona_init: { text: appendix("## Appendix B: Persona initialization"), source: /Appendix B\b/ },
  "tools/wikipedia_search": { text: appendix("### Wikipedia API for general knowledge"), source: /Appendix C\b.*Wikipedia/ },
  "tools/memory_retrieval": { text: appendix("### RAG API for personalized episodic memory"), source: /Appendix C\b.*RAG/ },
};

/** The paper's placeholders and the names the prompt files give them. */
const PLACEHOLDERS: Record<string, string> = {
  "[Question]": "question",
  "[Ground Truth]": "truth",
  "[Response]": "response",
  "[Current Persona]": "persona",
  "[Aggregated Feedback]": "feedback",
  "[Initial Semantic Memory]": "profile",
};

/** Appendix text with its placeholders filled from `values` (keyed by the files' names). */
function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\[[A-Z][A-Za-z ]+\]/g, (placeholder) => {
    const name = PLACEHOLDERS[placeholder];
    return name && name in values ? values[name]! : placeholder;
  });
}

test.each(Object.keys(APPENDIX) as SetPrompt[])("prompts/paper/%s.md is its appendix verbatim, only the placeholders named, and its header names the appendix", (name) => {
  const { text, source } = APPENDIX[name];
  const asTemplate = Object.fromEntries(Object.values(PLACEHOLDERS).map((p) => [p, `{${p}}`]));
  expect(setPrompt("paper", name)).toBe(fill(text, asTemplate));
  const [header, ...body] = readFileSync(join(PROMPTS_DIR, "paper", `${name}.md`), "utf8").split("\n");
  expect(header).toMatch(/^<!-- .* -->$/);
  expect(header).toMatch(source);
  expect(body.join("\n").trim()).toBe(setPrompt("paper", name)); // the header never reaches a model
});

test("the tuned set has the same prompts, each with a header saying what it replaces", () => {
  for (const name of Object.keys(APPENDIX) as SetPrompt[]) {
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
    if (req.toolConfig) return toolResults(req).length === 0 ? toolCall("memory_retrieval", { query: lastUserText(req) }) : { content: "sci-fi" };
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
      toolDescriptions: Object.fromEntries(agent[0]!.toolConfig.tools.map((t: any) => [t.toolSpec.name, t.toolSpec.description])),
    };
  }

  test("default settings: persona, tool descriptions, LLM_grad and LLM_update are the appendix texts word for word; no true answer reaches LLM_update", async () => {
    const { agent, grads, updates, sets, toolDescriptions } = await ingestAndAlign(env());
    const persona = fill(APPENDIX.persona_init.text, { profile: PROFILE });
    expect(agent.length).toBeGreaterThanOrEqual(6); // 3 replays, each a retrieval turn and an answer turn
    for (const req of agent) expect(systemText(req)).toBe(persona);
    expect(toolDescriptions).toEqual({ wikipedia_search: APPENDIX["tools/wikipedia_search"].text, memory_retrieval: APPENDIX["tools/memory_retrieval"].text });

    const batch = ALICE_HISTORY.slice(-3);
    expect(grads.map(lastUserText).sort()).toEqual(batch.map((e) => fill(APPENDIX.feedback.text, { question: e.query, truth: e.response, response: "sci-fi" })).sort());
    expect(updates).toHaveLength(1);
    const feedback = batch.map((e, i) => `[${i + 1}] FEEDBACK on ${e.query}`).join("\n\n");
    const update = lastUserText(updates[0]!);
    expect(update).toBe(fill(APPENDIX.update.text, { persona, feedback }));
    for (const e of batch) expect(update).not.toContain(e.response);
    expect(new Set(sets)).toEqual(new Set(["paper"]));
  });

  test("PERSONA_AGENT_PROMPTS=tuned: the same run with the tuned files", async () => {
    const { agent, grads, updates, sets, toolDescriptions } = await ingestAndAlign(env({ PERSONA_AGENT_PROMPTS: "tuned" }));
    const persona = await renderSetPrompt("tuned", "persona_init", { profile: PROFILE });
    for (const req of agent) expect(systemText(req)).toBe(persona);
    expect(toolDescriptions).toEqual({ wikipedia_search: setPrompt("tuned", "tools/wikipedia_search"), memory_retrieval: setPrompt("tuned", "tools/memory_retrieval") });
    expect(grads).toHaveLength(3);
    expect(updates).toHaveLength(1);
    expect(new Set(sets)).toEqual(new Set(["tuned"]));
    // The tuned LLM_update sees the true answers (documented in docs/PROMPTS.md).
    expect(lastUserText(updates[0]!)).toContain(`User's true answer: ${ALICE_HISTORY[3]!.response}`);
  });
});
