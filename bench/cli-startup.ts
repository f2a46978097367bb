/**
 * Start-up cost of the `persona-agent` executable as a user runs it (bin/ -> the bundle's
 * chunks in dist/), as a ratio to a bare `node -e 0` on the same machine, median of --runs runs
 * each, with the budgets:
 *   --help                      target <= 4x
 *   persona --user U            target <= 8x  (opens the store, reads the persona)
 *   ask --user U "..."          target <= 20x (whole ask against a zero-latency OpenAI-compatible
 *                                              server: graph, store, FAISS, tool call; the model
 *                                              and embedding calls answer at once, so the wall
 *                                              time is the overhead outside the model)
 * Each command runs once untimed first (the OS file cache; on Node 22+ also Node's compile
 * cache, which bin/ enables). The last line prints the three ratios.
 * Run: npm run build && npm run bench:cli [-- --runs 15]
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startOpenAIServer, type RecordedChatRequest } from "../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../testing/scripted-chat.js";
import { fmt, median, p95, table } from "./lib.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const RUNS = Number(values.runs);
const BIN = fileURLToPath(new URL("../bin/persona-agent.js", import.meta.url));

/** Answers at once: one memory tool call, then the answer; profile summaries for ingest. */
function instant(req: RecordedChatRequest): ScriptedReply {
  if (!req.tools) return { content: "Profile: a science-fiction fan." };
  return req.messages.at(-1)?.role === "tool"
    ? { content: "sci-fi" }
    : { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
}

const server = await startOpenAIServer(instant);
const dataDir = mkdtempSync(join(tmpdir(), "bench-cli-"));
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  OPENAI_BASE_URL: server.url,
  OPENAI_API_KEY: "bench",
  PERSONA_AGENT_MODEL: "openai:instant",
  PERSONA_AGENT_EMBEDDINGS: "openai:instant-emb",
  PERSONA_AGENT_DATA_DIR: dataDir,
  PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php",
  PERSONA_AGENT_MAX_RETRIES: "0",
};

function run(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { env }, (error, _stdout, stderr) =>
      error ? reject(new Error(`${args.join(" ")}: ${stderr || error.message}`)) : resolve(performance.now() - started),
    ),
  );
}

const history = join(dataDir, "history.jsonl");
writeFileSync(
  history,
  Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({ query: `Tag this movie: story number ${i} about space`, response: i % 2 ? "sci-fi" : "romance" }),
  ).join("\n") + "\n",
);
await run([BIN, "ingest", "--user", "U", "--file", history]);

const ASK = [BIN, "ask", "--user", "U", "Which tag fits a film about a lost astronaut?"];
const cases: { name: string; args: string[]; target?: number }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "persona-agent --help", args: [BIN, "--help"], target: 4 },
  { name: "persona-agent persona --user U", args: [BIN, "persona", "--user", "U"], target: 8 },
  { name: "persona-agent ask --user U (zero-latency model)", args: ASK, target: 20 },
];
const times = new Map(cases.map((c) => [c.name, [] as number[]]));
for (const c of cases) await run(c.args); // the file cache (and Node 22's compile cache)
// Interleaved, so a burst of load on the machine hits every case alike.
for (let i = 0; i < RUNS; i++) {
  for (const c of cases) times.get(c.name)!.push(await run(c.args));
}
await server.close();

const base = median(times.get("node -e 0")!);
console.log(
  `CLI start-up, ${RUNS} runs each, interleaved; ratio = median / median of node -e 0 (${fmt(base)} ms); load average ${loadavg()
    .map((x) => x.toFixed(1))
    .join(" ")}`,
);
console.log(
  table(
    ["command", "median ms", "p95 ms", "ratio", "target", "met"],
    cases.map((c) => {
      const xs = times.get(c.name)!;
      const ratio = median(xs) / base;
      return [
        c.name,
        fmt(median(xs)),
        fmt(p95(xs)),
        `${fmt(ratio)}x`,
        c.target ? `<= ${c.target}x` : "",
        c.target ? (ratio <= c.target ? "yes" : "no") : "",
      ];
    }),
  ),
);
const ratios = cases
  .filter((c) => c.target)
  .map(
    (c) => `${c.name.replace("persona-agent ", "").replace(/ \(.*\)$/, "")} ${fmt(median(times.get(c.name)!) / base)}x`,
  );
console.log(`ratios to node -e 0: ${ratios.join(", ")}`);
