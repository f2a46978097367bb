/**
 * Prompt tokens per LLM call, per query and per alignment step for every LaMP method, so users
 * can estimate API cost. Each method runs as in `eval` on one generated LaMP user (the real
 * prompt templates of prompts/lamp and apps/eval/methods.ts) with a scripted model that records
 * the messages it receives; they are tokenized with js-tiktoken (o200k_base, GPT-4o family;
 * cl100k_base beside it). Counted per call: every message's text, the JSON of tool calls it
 * carries, 3 tokens of chat framing per message + 3 for the reply, and the JSON schemas of
 * bound tools. Outputs are not counted (the scripted replies are not a real model's).
 *   npm run bench:tokens [-- --tasks lamp-2m,lamp-3 --items 100 --batch 3]
 */
import { parseArgs } from "node:util";
import { InMemoryStore } from "@langchain/langgraph";
import { BaseChatModel, type BindToolsInput } from "@langchain/core/language_models/chat_models";
import { AIMessage, SystemMessage, type AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import type { BaseLanguageModelInput } from "@langchain/core/language_models/base";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { Tiktoken } from "js-tiktoken/lite";
import o200k from "js-tiktoken/ranks/o200k_base";
import cl100k from "js-tiktoken/ranks/cl100k_base";
import { generateLamp } from "../apps/eval/synthetic.js";
import { graphAligner, METHODS, prepareMethod, type Aligner, type MethodName } from "../apps/eval/methods.js";
import { profileInteractions } from "../apps/eval/data/lamp.js";
import type { LampExample, LampTask } from "../apps/eval/data/lamp.js";
import type { Configuration } from "../src/configuration/configuration.js";
import { lampScript } from "../testing/lamp-script.js";
import type { Script } from "../testing/scripted-model.js";
import { parseAlignmentPrompt } from "../testing/alignment-prompts.js";
import { fmt, table } from "./lib.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "lamp-1,lamp-2m,lamp-2n,lamp-3" },
    methods: { type: "string", default: METHODS.join(",") },
    items: { type: "string", default: "50" },
    batch: { type: "string", default: "3" },
    k: { type: "string", default: "4" },
  },
});
const TASKS = values.tasks.split(",") as LampTask[];
const CHOSEN = values.methods.split(",") as MethodName[];
const ITEMS = Number(values.items);
const BATCH = Number(values.batch);
const K = Number(values.k);

/**
 * Words added to each generated text so items are about as long as LaMP's (an assumption from
 * the data sets' look, not measured: abstracts ~150 words, movie descriptions ~60, news
 * articles ~50, reviews ~100). The generator's own texts are 5 words.
 */
const PAD_WORDS: Record<LampTask, { field: string; words: number; question: number }> = {
  "lamp-1": { field: "abstract", words: 150, question: 0 },
  "lamp-2m": { field: "description", words: 60, question: 60 },
  "lamp-2n": { field: "text", words: 50, question: 50 },
  "lamp-3": { field: "text", words: 100, question: 100 },
};
const VOCAB =
  "the a of and to in story film user review paper results people new world after time during found city between life early study model data".split(
    " ",
  );
const filler = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => VOCAB[(seed * 31 + i * 7) % VOCAB.length]).join(" ");

function representativeUser(task: LampTask): LampExample {
  const { questions, outputs } = generateLamp(task, { users: 1, items: ITEMS });
  const q = questions[0]!;
  const pad = PAD_WORDS[task];
  const profile = q.profile.map((item, i) => ({
    ...item,
    [pad.field]: `${item[pad.field]} ${filler(pad.words, i)}`.trim(),
  }));
  return {
    id: q.id,
    input: `${q.input} ${filler(pad.question, 999)}`.trim(),
    profile,
    output: outputs.golds[0]!.output,
  } as LampExample;
}

const encoders = { o200k: new Tiktoken(o200k), cl100k: new Tiktoken(cl100k) };
type Enc = keyof typeof encoders;

interface Call {
  messages: BaseMessage[];
  toolsJson: string;
  phase: "pre" | "align" | "post";
}

class RecordingModel extends BaseChatModel {
  constructor(
    private readonly script: Script,
    private readonly log: { calls: Call[]; phase: Call["phase"] },
    private readonly tools: { names: string[]; json: string } = { names: [], json: "" },
  ) {
    super({});
  }
  _llmType() {
    return "recording";
  }
  override bindTools(tools: BindToolsInput[]): Runnable<BaseLanguageModelInput, AIMessageChunk> {
    const defs = tools.map((t) => convertToOpenAITool(t as never));
    return new RecordingModel(this.script, this.log, {
      names: defs.map((d) => d.function.name),
      json: JSON.stringify(defs),
    });
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const index = this.log.calls.push({ messages, toolsJson: this.tools.json, phase: this.log.phase }) - 1;
    const reply = await this.script(messages, { index, tools: this.tools.names });
    const message = typeof reply === "string" ? new AIMessage(reply) : reply;
    return { generations: [{ text: message.text, message }] };
  }
}

function promptTokens(call: Call, enc: Enc): number {
  const e = encoders[enc];
  let n = 3 + (call.toolsJson ? e.encode(call.toolsJson).length : 0);
  for (const m of call.messages) {
    n += 3 + e.encode(m.text).length;
    const toolCalls = AIMessage.isInstance(m) ? m.tool_calls : undefined;
    if (toolCalls?.length) n += e.encode(JSON.stringify(toolCalls.map((c) => ({ name: c.name, args: c.args })))).length;
  }
  return n;
}

type Kind = "ingest" | "simulate" | "grad" | "update" | "answer";
function kindOf(call: Call): Kind {
  const text = call.messages.at(-1)?.text ?? "";
  if (/^Below are /.test(call.messages.findLast((m) => m.getType() === "human")?.text ?? "")) return "ingest";
  const step = parseAlignmentPrompt(text)?.step; // LLM_grad / LLM_update of either prompt set
  if (step) return step;
  if (call.phase === "align" && SystemMessage.isInstance(call.messages[0])) return "simulate";
  return "answer";
}

const summary: (string | number)[][] = [];
const alignRows: (string | number)[][] = [];
for (const task of TASKS) {
  const example = representativeUser(task);
  for (const method of CHOSEN) {
    const log = { calls: [] as Call[], phase: "pre" as Call["phase"] };
    const model = new RecordingModel(lampScript(task), log);
    const aligner: Aligner = async (args) => {
      log.phase = "align";
      await graphAligner(args);
      log.phase = "post";
    };
    const configurable: Partial<Configuration> = {
      userId: `tokens:${task}:${method}`,
      model,
      embeddings: "local:universal-sentence-encoder",
      k: K,
      maxRetries: 0,
      wikipediaBaseUrl: "http://127.0.0.1:9/w/api.php",
      indexDir: undefined,
      record: false,
    };
    // LaMP-1 interactions need another user's paper as the negative reference.
    const interactions = await profileInteractions(task, example.id, example.profile, {
      otherPapers: [["other", "An unrelated paper"]],
    });
    const answer = await prepareMethod(
      method,
      { task, store: new InMemoryStore(), configurable, params: { k: K, batch: BATCH, iterations: 1 }, aligner },
      { interactions, demonstrations: async () => interactions.slice(0, 3) },
    );
    await answer(example);
    const by = new Map<Kind, { calls: number; tokens: number }>();
    for (const call of log.calls) {
      const k = kindOf(call);
      const slot = by.get(k) ?? { calls: 0, tokens: 0 };
      slot.calls++;
      slot.tokens += promptTokens(call, "o200k");
      by.set(k, slot);
    }
    const get = (k: Kind) => by.get(k) ?? { calls: 0, tokens: 0 };
    const total = log.calls.reduce((s, c) => s + promptTokens(c, "o200k"), 0);
    const totalCl = log.calls.reduce((s, c) => s + promptTokens(c, "cl100k"), 0);
    const alignTokens = get("simulate").tokens + get("grad").tokens + get("update").tokens;
    const cell = (k: Kind) => (get(k).calls ? `${get(k).tokens.toLocaleString("en-US")} (${get(k).calls})` : "–");
    summary.push([
      task,
      method,
      log.calls.length,
      total.toLocaleString("en-US"),
      totalCl.toLocaleString("en-US"),
      cell("answer"),
      cell("ingest"),
      alignTokens ? `${alignTokens.toLocaleString("en-US")}` : "–",
    ]);
    if (alignTokens) {
      const per = (k: Kind) => (get(k).calls ? fmt(get(k).tokens / get(k).calls, 0) : "–");
      alignRows.push([
        task,
        method,
        cell("simulate"),
        per("simulate"),
        cell("grad"),
        per("grad"),
        cell("update"),
        alignTokens.toLocaleString("en-US"),
      ]);
    }
    console.error(`${task} ${method}: ${log.calls.length} calls, ${total} tokens`);
  }
}

console.log(
  `prompt (input) tokens per query, one generated LaMP user with ${ITEMS} profile items padded to LaMP-like lengths, K=${K}, alignment n=${BATCH}, E=1`,
);
console.log(
  "(calls) = LLM calls. ingest = the profile summary (once per user in production; once per person and method in LaMP eval).\n",
);
console.log(
  table(
    [
      "task",
      "method",
      "calls",
      "tokens o200k",
      "tokens cl100k",
      "answer (calls)",
      "ingest: profile (calls)",
      "alignment",
    ],
    summary,
  ),
);
console.log(
  `\none alignment step (E=1, n=${BATCH}): tokens (calls) and tokens per call; simulate = agent calls re-running the latest n interactions`,
);
console.log(
  table(
    ["task", "method", "simulate", "per simulate call", "LLM_grad", "per grad call", "LLM_update", "step total"],
    alignRows,
  ),
);
