/**
 * Does a large ingest on the server stall other users? The real `langgraphjs dev` server (as
 * tests/platform/ starts it, with this project's auth), the scripted OpenAI-compatible provider
 * in this process (512-d embeddings, instant chat), two API callers: "bulk" ingests N entries in
 * one ingest run while "asker" asks the persona agent one question after another; the asks'
 * latency is compared with the same asks on an idle server.
 *   npm run bench:server-ingest [-- --entries 30000 --idle-asks 20]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@langchain/langgraph-sdk";
import { startOpenAIServer, type RecordedChatRequest } from "../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../testing/scripted-chat.js";
import { ALICE_HISTORY, tempDir } from "../testing/fixtures.js";
import { scriptedServerEnv, startDevServer } from "../testing/langgraph-dev.js";
import { fmt, median, p95, table } from "./lib.js";

const { values } = parseArgs({
  options: { entries: { type: "string", default: "30000" }, "idle-asks": { type: "string", default: "20" } },
});
const N = Number(values.entries);

function reply(req: RecordedChatRequest): ScriptedReply {
  if (!req.tools) return { content: "Profile: tags most films sci-fi" };
  return req.messages.at(-1)?.role === "tool"
    ? { content: "sci-fi" }
    : { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
}

const openai = await startOpenAIServer(reply, { embeddingDims: 512 });
const dataDir = join(tempDir("bench-server-ingest-"), "data");
mkdirSync(dataDir);
const tokens = { bulk: randomBytes(32).toString("hex"), asker: randomBytes(32).toString("hex") };
const server = await startDevServer({
  ...(await scriptedServerEnv(openai.url, dataDir)),
  PERSONA_AGENT_API_TOKENS: JSON.stringify({ [tokens.bulk]: "bulk", [tokens.asker]: "asker" }),
});
const client = (token: string) =>
  new Client({ apiUrl: server.url, defaultHeaders: { authorization: `Bearer ${token}` } });
const [bulk, asker] = [client(tokens.bulk), client(tokens.asker)];

/** One ask of the asker, in seconds. */
async function ask(): Promise<number> {
  const started = performance.now();
  await asker.runs.wait(null, "persona_agent", {
    input: { messages: [{ role: "user", content: "Tag this movie: a quiet one" }] },
  });
  return (performance.now() - started) / 1000;
}

try {
  await asker.runs.wait(null, "ingest", { input: { entries: ALICE_HISTORY } });
  await ask(); // warm: graph compiled, index built
  const idle: number[] = [];
  for (let i = 0; i < Number(values["idle-asks"]); i++) idle.push(await ask());

  const entries = Array.from({ length: N }, (_, i) => ({
    query: `Tag this movie: bulk film number ${i}, a story of ${["space", "love", "war", "heists"][i % 4]}`,
    response: i % 3 ? "sci-fi" : "drama",
    timestamp: new Date(Date.UTC(2020, 0, 1, 0, 0, i)).toISOString(),
  }));
  const started = performance.now();
  let done = false;
  const ingest = bulk.runs.wait(null, "ingest", { input: { entries } }).finally(() => (done = true));
  const loaded: number[] = [];
  while (!done) loaded.push(await ask());
  const out = (await ingest) as { added?: number };
  const ingestSeconds = (performance.now() - started) / 1000;
  if (out.added !== N) throw new Error(`the ingest added ${out.added}, not ${N}: ${JSON.stringify(out).slice(0, 300)}`);

  console.log(
    `langgraphjs dev, ${N.toLocaleString("en-US")}-entry ingest of one user: ${fmt(ingestSeconds)} s; another user's asks meanwhile:`,
  );
  console.log(
    table(
      ["asks of another user", "n", "p50 s", "p95 s", "max s"],
      [
        ["idle server", idle.length, fmt(median(idle), 2), fmt(p95(idle), 2), fmt(Math.max(...idle), 2)],
        [
          `during the ${N.toLocaleString("en-US")}-entry ingest`,
          loaded.length,
          fmt(median(loaded), 2),
          fmt(p95(loaded), 2),
          fmt(Math.max(...loaded), 2),
        ],
      ],
    ),
  );
} finally {
  await server.stop();
  await openai.close();
}
