/**
 * Wall time of one alignment iteration for batch sizes n = 1, 3, 8, with a scripted model
 * that takes a fixed delay per call. Each simulation makes 2 agent calls (retrieve, answer),
 * so the serial critical path is 2 (simulate) + 1 (LLM_grad) + 1 (LLM_update) = 4 calls
 * whatever n is, when simulations and feedback really run in parallel.
 *   npx tsx bench/alignment.ts [delayMs]
 */
import { InMemoryStore } from "@langchain/langgraph";
import { align, aliceStore, scriptedModel } from "../tests/alignment/harness.js";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { episodicMemoryFor } from "../src/services.js";
import { EMB } from "../tests/alignment/harness.js";

const delayMs = Number(process.argv[2] ?? 200);
const rows: { n: number; ms: number; calls: number; ideal: number }[] = [];

for (const n of [1, 3, 8]) {
  const store = await aliceStore(new InMemoryStore());
  // Enough history for a batch of 8 (the fixture has 4).
  const memory: EpisodicMemory = episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 });
  await memory.add("alice", Array.from({ length: 8 }, (_, i) => ({ query: `Tag this movie: bench ${i}`, response: "sci-fi", timestamp: `2024-03-0${i + 1}T10:00:00Z` })));
  await align(store, scriptedModel({}), { batchSize: n }); // warm-up: embeddings model, index
  const model = scriptedModel({}, delayMs);
  const started = performance.now();
  await align(store, model, { batchSize: n });
  rows.push({ n, ms: Math.round(performance.now() - started), calls: model.calls.length, ideal: 4 * delayMs });
}

console.log(`one alignment iteration, scripted model with ${delayMs} ms per call`);
console.log("n | wall ms | model calls | serial lower bound (4 calls) ms | serial-everything ms");
for (const r of rows) console.log(`${r.n} | ${r.ms} | ${r.calls} | ${r.ideal} | ${r.calls * delayMs}`);
