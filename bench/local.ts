/**
 * The in-process llama.cpp engine: load time, prompt and generation speed, process memory,
 * per thread count; then the disk node-llama-cpp adds to node_modules.
 * Run: npm run bench:local [-- --model path/to.gguf --threads 1,2 --prompt 512 --generate 128]
 * Without --model it measures the tiny random-weight test model (engine overhead, not a
 * real model's speed).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getLlama, LlamaCompletion, LlamaLogLevel } from "node-llama-cpp";
import { ChatLlamaCpp, disposeLocalModels } from "../src/models/local/index.js";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { writeTinyLlama } from "../testing/tiny-gguf.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    threads: { type: "string", default: "1,2" },
    prompt: { type: "string", default: "512" },
    generate: { type: "string", default: "128" },
  },
});
const modelPath = values.model ?? writeTinyLlama(join(mkdtempSync(join(tmpdir(), "bench-local-")), "tiny.gguf"));
const PROMPT_TOKENS = Number(values.prompt);
const GEN_TOKENS = Number(values.generate);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

const rows: Record<string, string | number>[] = [];
const rssStart = process.memoryUsage().rss;
let t = performance.now();
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.disabled });
const engineMs = performance.now() - t;

for (const threads of values.threads.split(",").map(Number)) {
  t = performance.now();
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: { max: 4096 }, threads });
  const loadMs = performance.now() - t;
  const sequence = context.getSequence();

  // Prompt processing: evaluate a prompt of PROMPT_TOKENS tokens in one go.
  const prompt = model
    .tokenize("The quick brown fox jumps over the lazy dog. ".repeat(PROMPT_TOKENS))
    .slice(0, PROMPT_TOKENS);
  t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(prompt);
  const promptS = (performance.now() - t) / 1000;
  await sequence.clearHistory();

  // Generation: free sampling (no stop), exactly GEN_TOKENS tokens.
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const outputBefore = sequence.tokenMeter.usedOutputTokens;
  t = performance.now();
  await completion.generateCompletion("Once upon a time", {
    maxTokens: GEN_TOKENS,
    temperature: 0.8,
    customStopTriggers: [],
  });
  const genS = (performance.now() - t) / 1000;
  const generated = sequence.tokenMeter.usedOutputTokens - outputBefore;
  completion.dispose();

  rows.push({
    threads,
    "engine ms": engineMs.toFixed(0),
    "load ms": loadMs.toFixed(0),
    "prompt tok/s": (PROMPT_TOKENS / promptS).toFixed(0),
    "gen tok/s": (generated / genS).toFixed(0),
    "gen tokens": generated,
    "RSS MB": mb(process.memoryUsage().rss),
  });
  await context.dispose();
  await model.dispose();
}

// One grammar-constrained tool call through the LangChain model (what an agent step costs).
const search = tool(async () => "", {
  name: "memory_retrieval",
  description: "Search memory.",
  schema: z.object({ query: z.string() }),
});
const chat = new ChatLlamaCpp({ modelPath, threads: 1, maxTokens: 128 });
await chat.bindTools([search]).invoke("warm up");
t = performance.now();
const N = 5;
for (let i = 0; i < N; i++) await chat.bindTools([search]).invoke(`question ${i}`);
const toolCallMs = (performance.now() - t) / N;
await disposeLocalModels();

console.log(`model: ${modelPath}`);
console.table(rows);
console.log(`grammar-constrained agent step (ChatLlamaCpp.bindTools().invoke, 1 thread): ${toolCallMs.toFixed(0)} ms`);
console.log(`RSS at start ${mb(rssStart)} MB, at end ${mb(process.memoryUsage().rss)} MB`);

// Disk: node-llama-cpp ships a prebuilt binding per platform/GPU as optional packages.
const du = (path: string) => Number(execFileSync("du", ["-sk", path], { encoding: "utf8" }).split("\t")[0]) * 1024;
const scope = "node_modules/@node-llama-cpp";
const platforms = existsSync(scope) ? readdirSync(scope) : [];
const cpu = `${process.platform}-${process.arch}`;
console.table([
  { package: "node-llama-cpp", MB: mb(du("node_modules/node-llama-cpp")), needed: "yes" },
  ...platforms.map((p) => ({
    package: `@node-llama-cpp/${p}`,
    MB: mb(du(join(scope, p))),
    needed: p === cpu ? "yes (CPU binding)" : "no (other platform or GPU)",
  })),
]);
