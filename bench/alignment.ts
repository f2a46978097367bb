/**
 * Wall time of one alignment iteration for batch sizes n = 1, 3, 8, 16, with a scripted model
 * that takes a fixed latency L per call. Each simulation makes 2 agent calls (retrieve, answer),
 * so the critical path is 2 (simulate) + 1 (LLM_grad) + 1 (LLM_update) = 4 L whatever n is,
 * when simulations and feedback really run in parallel; run one after another it would be
 * (2n + n + 1) L = (3n + 1) L model time. The last column is the iteration's CPU time (all threads).
 *   npm run bench:alignment [-- L_ms]      (default L = 200 ms)
 */
import { InMemoryStore } from "@langchain/langgraph";
import { align, aliceStore, scriptedModel, EMB } from "../testing/alignment-harness.js";
import { episodicMemoryFor } from "../src/services/services.js";
import { fmt, table } from "./lib.js";

const delayMs = Number(process.argv[2] ?? 200);
const SIZES = [1, 3, 8, 16];
const rows: (string | number)[][] = [];

for (const n of SIZES) {
  const store = await aliceStore(new InMemoryStore());
  // Enough history for the largest batch (the fixture has 4).
  const memory = episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 });
  await memory.add(
    "alice",
    Array.from({ length: 16 }, (_, i) => ({
      query: `Tag this movie: bench ${i}`,
      response: "sci-fi",
      timestamp: `2024-03-${String(i + 1).padStart(2, "0")}T10:00:00Z`,
    })),
  );
  await align(store, scriptedModel({}), { batchSize: n }); // warm-up: embeddings model, index
  const model = scriptedModel({}, delayMs);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await align(store, model, { batchSize: n });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const serial = model.calls.length * delayMs;
  rows.push([
    n,
    Math.round(ms),
    fmt(ms / delayMs, 2),
    model.calls.length,
    4,
    fmt(serial / delayMs, 0),
    fmt(ms - 4 * delayMs, 0),
    Math.round((cpu.user + cpu.system) / 1000),
  ]);
}

console.log(`one alignment iteration, scripted model with L = ${delayMs} ms per call`);
console.log(
  table(
    [
      "n",
      "wall ms",
      "wall / L",
      "model calls",
      "critical path / L",
      "all serial / L",
      "overhead beyond 4 L (ms)",
      "CPU ms (all threads)",
    ],
    rows,
  ),
);
