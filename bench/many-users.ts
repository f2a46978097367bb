/**
 * Many users: U users (default 1,000), each with a persona and M memories (default 20), then
 * A asks (default 1,000, users in shuffled order) with C running at once (default 50) through
 * the persona_agent graph with a zero-latency scripted model, on a SQLite store with indexes
 * on disk. Run once per index bound, each in its own process (RSS never shrinks), to show
 * indexes load lazily and maxCachedIndexes keeps memory bounded.
 *   npm run bench:many-users [-- --users 1000 --memories 20 --asks 1000 --concurrency 50 --bounds 1000000,64]
 * Memories are embedded with HashEmbeddings (deterministic, nearly free, 512-d like USE):
 * embedding 20,000 texts with USE would take ~3 minutes and measure the model, not the
 * framework. Queries are embedded with the real USE model, as `ask` does.
 */
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HumanMessage } from "@langchain/core/messages";
import { builder } from "../graphs/persona_agent.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { PersonaStore } from "../src/persona/persona.js";
import { episodicMemoryFor } from "../src/services/services.js";
import { HashEmbeddings } from "./cheap-embeddings.js";
import { fmt, InstantAgentModel, MB, median, memory, p95, table, time } from "./lib.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "1000" },
    memories: { type: "string", default: "20" },
    asks: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "50" },
    bounds: { type: "string", default: "1000000,64" },
    child: { type: "string" },
    bound: { type: "string" },
  },
});
const USERS = Number(values.users);
const MEMORIES = Number(values.memories);
const ASKS = Number(values.asks);
const CONCURRENCY = Number(values.concurrency);
const EMB = "local:universal-sentence-encoder";
const userId = (i: number) => `user-${String(i).padStart(5, "0")}`;

interface ChildResult {
  bound: number;
  rssBaselineMb: number;
  rssPeakMb: number;
  rssEndMb: number;
  heapEndMb: number;
  loadedBefore: number;
  loadedAfter: number;
  wallMs: number;
  median: number;
  p95: number;
}

async function child(dir: string, bound: number): Promise<ChildResult> {
  const store = new SqliteStore(join(dir, "store.sqlite"));
  const indexDir = join(dir, "indexes");
  const mem: EpisodicMemory = episodicMemoryFor(store, {
    embeddings: EMB,
    indexDir,
    timeoutMs: 60_000,
    maxRetries: 0,
    maxCachedIndexes: bound,
  });
  const graph = builder.compile({ store });
  const model = new InstantAgentModel({});
  const ask = (user: string, text: string) =>
    graph.invoke(
      { messages: [new HumanMessage(text)] },
      { configurable: { userId: user, model, embeddings: EMB, indexDir, record: true } },
    );
  await ask(userId(0), "warm-up: loads the embedding model"); // one index loaded
  const baseline = memory();
  const loadedBefore = mem.cachedIndexes().length;
  let peak = baseline.rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  // Shuffled users (deterministic), round-robin when asks > users.
  const order = Array.from({ length: ASKS }, (_, i) => (i * 7919) % USERS);
  const latencies: number[] = [];
  let next = 0;
  const [, wallMs] = await time(() =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < order.length) {
          const i = next++;
          const [, ms] = await time(() => ask(userId(order[i]!), `Tag this movie: question ${i} about robots in love`));
          latencies.push(ms);
        }
      }),
    ),
  );
  clearInterval(sampler);
  const end = memory();
  store.close();
  return {
    bound,
    rssBaselineMb: baseline.rss / MB,
    rssPeakMb: peak / MB,
    rssEndMb: end.rss / MB,
    heapEndMb: end.heapUsed / MB,
    loadedBefore,
    loadedAfter: mem.cachedIndexes().length,
    wallMs,
    median: median(latencies),
    p95: p95(latencies),
  };
}

function runChild(dir: string, bound: number): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  const args = [
    ...process.execArgv,
    script,
    "--child",
    dir,
    "--bound",
    String(bound),
    "--users",
    String(USERS),
    "--asks",
    String(ASKS),
    "--concurrency",
    String(CONCURRENCY),
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1)!) as ChildResult)
        : reject(new Error(`child exited ${code}`)),
    );
  });
}

if (values.child) {
  console.log(JSON.stringify(await child(values.child, Number(values.bound))));
} else {
  const dir = mkdtempSync(join(tmpdir(), "bench-users-"));
  const store = new SqliteStore(join(dir, "store.sqlite"));
  const embeddings = new HashEmbeddings();
  // Persisted under the USE model's id, so the graph (which embeds queries with USE) reuses them.
  const setup = new EpisodicMemory(store, embeddings, {
    embeddingsId: EMB,
    indexDir: join(dir, "indexes"),
    maxCachedIndexes: 1,
  });
  const personas = new PersonaStore(store);
  const [, setupMs] = await time(async () => {
    for (let u = 0; u < USERS; u++) {
      const history = Array.from({ length: MEMORIES }, (_, i) => ({
        query: `Tag this movie: user ${u} memory ${i}, a story about robots and love`,
        response: ["sci-fi", "romance", "action"][(u + i) % 3]!,
        timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
      }));
      await setup.add(userId(u), history);
      await personas.save(
        userId(u),
        `You are the personal assistant of user ${u}, who likes ${["sci-fi", "romance", "action"][u % 3]}.`,
        "initialized",
      );
    }
  });
  store.close();
  console.error(`setup: ${USERS} users × ${MEMORIES} memories in ${fmt(setupMs / 1000, 1)} s`);
  const rows: (string | number)[][] = [];
  for (const bound of values.bounds.split(",").map(Number)) {
    const r = await runChild(dir, bound);
    rows.push([
      bound >= USERS ? `none (${bound.toLocaleString("en-US")})` : bound,
      `${r.loadedBefore} → ${r.loadedAfter}`,
      fmt((ASKS / r.wallMs) * 1000, 1),
      fmt(r.median, 0),
      fmt(r.p95, 0),
      fmt(r.rssBaselineMb, 0),
      fmt(r.rssPeakMb, 0),
      fmt(r.rssEndMb, 0),
      fmt(r.rssEndMb - r.rssBaselineMb, 0),
      fmt(r.heapEndMb, 0),
    ]);
  }
  console.log(
    `${USERS.toLocaleString("en-US")} users × ${MEMORIES} memories (512-d), ${ASKS.toLocaleString("en-US")} asks, ${CONCURRENCY} at once, zero-latency model; setup ${fmt(setupMs / 1000, 1)} s`,
  );
  console.log(
    table(
      [
        "maxCachedIndexes",
        "indexes in memory (after warm-up → end)",
        "asks/s",
        "median ms",
        "p95 ms",
        "RSS after warm-up MB",
        "peak RSS MB",
        "RSS end MB",
        "growth MB",
        "heap end MB",
      ],
      rows,
    ),
  );
}
