/**
 * LaMP files of any size (issue #22 item 3): generates a LaMP-3-shaped questions file larger than
 * one JavaScript string holds (> 600 MB, as LaMP-3's and LaMP-1's train files) with its outputs,
 * then times `data convert --users 100` and `eval --users 100` (RAG-4 against a local
 * OpenAI-protocol server answering at once) on it, each as the CLI in its own process, and reports
 * wall time and peak RSS (/usr/bin/time). LaMP's shapes: every question repeats its person's whole
 * profile with question-prefixed item ids, a person's later questions hold the earlier test items
 * with their labels, profiles differ in size.
 *   npm run bench:big-file [-- <dir> [megabytes]]
 */
import { execFile } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { LAMP_LABELS } from "../apps/eval/data/lamp.js";
import { syntheticItem, syntheticQuestion } from "../apps/eval/synthetic.js";
import { startOpenAIServer } from "../testing/openai-server.js";
import { respondWith } from "../testing/scripted-chat.js";
import { fmt, MB, table } from "./lib.js";

const dir = process.argv[2] ?? mkdtempSync(join(tmpdir(), "big-file-"));
const targetBytes = Number(process.argv[3] ?? 620) * MB;
const BIN = fileURLToPath(new URL("../bin/persona-agent.js", import.meta.url));
const QUESTIONS_PER_PERSON = 4;
const WORDS = [
  "battery",
  "charger",
  "screen",
  "sturdy",
  "cheap",
  "broke",
  "returned",
  "gift",
  "quality",
  "shipping",
  "works",
  "great",
  "poor",
  "cable",
  "case",
  "sound",
];
const labels = LAMP_LABELS["lamp-3"]!;

/** A ~500-character review, distinct per person and item. */
const review = (person: number, item: number) =>
  `Review ${item} by person ${person}: ${Array.from({ length: 80 }, (_, w) => WORDS[(person * 7 + item * 3 + w * w) % WORDS.length]).join(" ")}.`;

/** Writes the files one question at a time (no string holds the file); returns their paths and the question count. */
async function generate(): Promise<{ questions: string; outputs: string; count: number }> {
  const paths = { questions: join(dir, "lamp-3_big_questions.json"), outputs: join(dir, "lamp-3_big_outputs.json") };
  const out = createWriteStream(paths.questions);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  const golds: { id: string; output: string }[] = [];
  await write("[");
  let written = 1;
  for (let person = 0; written < targetBytes; person++) {
    const history = 40 + ((person * 37) % 120); // 40-159 items: "most active" is well defined
    const profile = Array.from({ length: history }, (_, i) =>
      syntheticItem("lamp-3", "", review(person, i), labels[(person + i) % labels.length]!),
    );
    for (let j = 0; j < QUESTIONS_PER_PERSON; j++) {
      const id = `${person}${String(j).padStart(2, "0")}`;
      const asked = review(person, history + j);
      const question = {
        id,
        input: syntheticQuestion("lamp-3", asked, ""),
        profile: profile.map((item, i) => ({ ...item, id: `${id}${i}` })),
      };
      const text = `${golds.length ? "," : ""}\n${JSON.stringify(question)}`;
      await write(text);
      written += Buffer.byteLength(text);
      const gold = labels[person % labels.length]!;
      golds.push({ id, output: gold });
      // The answered question is history for the person's next one (LaMP's time-based split).
      profile.push(syntheticItem("lamp-3", "", asked, gold));
    }
  }
  await write("\n]\n");
  out.end();
  await once(out, "finish");
  writeFileSync(paths.outputs, JSON.stringify({ task: "LaMP_3", golds }));
  return { ...paths, count: golds.length };
}

/** Runs the CLI under /usr/bin/time: wall seconds, peak RSS, exit code and the output's last line. */
function measure(
  args: string[],
  env: Record<string, string>,
): Promise<{ seconds: number; peakMb: number; code: number; last: string }> {
  return new Promise((resolve) => {
    execFile(
      "/usr/bin/time",
      ["-f", "%e %M", process.execPath, BIN, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * MB },
      (error, stdout, stderr) => {
        const lines = stderr.trim().split("\n");
        const [seconds, kb] = lines.at(-1)!.split(" ").map(Number);
        const last = (stdout.trim() || lines.slice(0, -1).join(" ")).split("\n").at(-1)!.slice(0, 160);
        resolve({
          seconds: seconds!,
          peakMb: kb! / 1024,
          code: error ? ((error as { code?: number }).code ?? 1) : 0,
          last,
        });
      },
    );
  });
}

const started = Date.now();
const files = existsSync(join(dir, "lamp-3_big_questions.json"))
  ? { questions: join(dir, "lamp-3_big_questions.json"), outputs: join(dir, "lamp-3_big_outputs.json"), count: NaN }
  : await generate();
const size = statSync(files.questions).size;
console.log(
  `${files.questions}: ${fmt(size / MB, 0)} MB, ${Number.isNaN(files.count) ? "existing" : `${files.count} questions`} (generated in ${fmt((Date.now() - started) / 1000)} s)`,
);

const server = await startOpenAIServer(respondWith(() => "4"));
const env = {
  OPENAI_BASE_URL: server.url,
  OPENAI_API_KEY: "bench",
  PERSONA_AGENT_MODEL: "openai:bench",
  PERSONA_AGENT_EMBEDDINGS: "openai:emb",
  PERSONA_AGENT_DATA_DIR: join(dir, "data"),
  PERSONA_AGENT_MAX_RETRIES: "0",
};
const data = ["--task", "lamp-3", "--questions", files.questions, "--outputs", files.outputs, "--users", "100"];
const rows: (string | number)[][] = [];
for (const [name, args] of [
  ["data convert --users 100", ["data", "convert", ...data, "--out", join(dir, "users.json")]],
  ["eval --method rag-4 --users 100", ["eval", ...data, "--method", "rag-4", "--out", join(dir, "eval"), "--json"]],
] as const) {
  const m = await measure([...args], env);
  console.log(`${name}: exit ${m.code}, ${fmt(m.seconds)} s, peak RSS ${fmt(m.peakMb, 0)} MB; ${m.last}`);
  rows.push([name, fmt(size / MB, 0), m.code, fmt(m.seconds), fmt(m.peakMb, 0)]);
}
await server.close();
console.log(`\n${table(["command", "questions file (MB)", "exit", "wall (s)", "peak RSS (MB)"], rows)}`);
