/**
 * `npm run demo`: the whole PersonaAgent loop on the bundled sample history, through the real
 * `persona-agent` command line: ingest -> persona -> ask twice -> feedback (which aligns the
 * persona) -> persona again, what changed in it, the feedback that changed it, and where the
 * data is.
 *
 * Model: PERSONA_AGENT_MODEL if set, else `local:` with DEFAULT_LOCAL_MODEL (downloaded once
 * into the model cache on a machine with internet). Data goes to PERSONA_AGENT_DEMO_DIR or a
 * fresh temporary folder, never to your own ./.persona-agent; the temporary folder is removed
 * when the demo ends unless it is run with --keep (`npm run demo -- --keep`). Each step is
 * announced on stderr as it starts, where the commands show their own progress (the ingest's
 * embedding, the alignment's steps).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeAlignment, type AlignmentSummary } from "../src/alignment/run.js";
import { UserError } from "../src/errors/errors.js";
import { lineDiff } from "../src/persona/persona.js";
import type { ReportedToolCall } from "../apps/cli/tool-calls.js";
import { DEFAULT_LOCAL_MODEL, modelCacheDir, resolveLocalModel } from "../src/models/local/resolve.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "persona-agent.js");
const HISTORY = join(ROOT, "examples", "movie-fan.jsonl");
const USER = "movie-fan";
const QUESTIONS = [
  "Which tag fits this movie? A retired astronaut is called back to stop an asteroid.",
  "Which tag fits this movie? Two rival chefs fall in love while running a food truck.",
];
const FEEDBACK = [
  { query: "Which tag fits this movie? An AI assistant slowly takes over a smart city.", truth: "dystopia" },
  { query: "Which tag fits this movie? Explorers find an ancient alien signal on Europa.", truth: "sci-fi" },
];

function stop(message: string, code = 2): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.some((arg) => arg !== "--keep"))
  stop(`unknown argument ${args.find((arg) => arg !== "--keep")}: the demo takes only --keep (keep its data folder)`);
const model = process.env.PERSONA_AGENT_MODEL || `local:${DEFAULT_LOCAL_MODEL}`;
const temporary = !process.env.PERSONA_AGENT_DEMO_DIR;
const keep = !temporary || args.includes("--keep");
const dataDir = process.env.PERSONA_AGENT_DEMO_DIR || mkdtempSync(join(tmpdir(), "persona-agent-demo-"));
// However the demo ends (a failed step exits here too), a temporary folder nobody asked to keep goes.
if (!keep) process.on("exit", () => rmSync(dataDir, { recursive: true, force: true }));
// The model cache stays where it would be without the demo, so a model downloaded once is reused.
const env = {
  ...process.env,
  PERSONA_AGENT_MODEL: model,
  PERSONA_AGENT_DATA_DIR: dataDir,
  PERSONA_AGENT_MODEL_CACHE: modelCacheDir(),
};

const STEPS = 2 + QUESTIONS.length + FEEDBACK.length + 1; // ingest, persona, asks, feedbacks, persona
let step = 0;

/** Runs one CLI command, announced on stderr as the demo's next step; its own one-line error (on stderr) is the demo's last word. */
function cli(args: string[]): string {
  process.stderr.write(`demo: step ${++step}/${STEPS}: persona-agent ${args[0]}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) stop(`stopped at "persona-agent ${args[0]}" (model ${model})`, r.status ?? 1);
  return r.stdout;
}

function section(title: string, body: string) {
  process.stdout.write(`\n=== ${title} ===\n${body.trim()}\n`);
}

// Get the model first (with a download progress bar when needed), so a missing model is
// one line naming what to set, before any work is done.
if (model.startsWith("local:")) {
  try {
    await resolveLocalModel(model.slice("local:".length), env.PERSONA_AGENT_MODEL_CACHE);
  } catch (error) {
    if (error instanceof UserError) stop(error.message);
    throw error;
  }
}

process.stdout.write(`PersonaAgent demo: model ${model}, data in ${dataDir}\n`);
section(
  "ingest examples/movie-fan.jsonl (lamp-2m)",
  cli(["ingest", "--user", USER, "--task", "lamp-2m", "--file", HISTORY]),
);
const before = JSON.parse(cli(["persona", "--user", USER, "--json"])) as { version: number; persona: string };
section(`persona before (v${before.version})`, before.persona);

for (const question of QUESTIONS) {
  const reply = JSON.parse(cli(["ask", "--user", USER, "--json", question])) as {
    answer: string;
    toolCalls: ReportedToolCall[];
  };
  // A tool that failed says so (the agent answered without it), with the first line of why.
  const tools = reply.toolCalls.map(
    (c) => `${c.name}(${JSON.stringify(c.args)})${c.error === undefined ? "" : ` FAILED: ${c.error.split("\n")[0]}`}`,
  );
  section(`ask: ${question}`, `${reply.answer}\n(tools: ${tools.join(", ") || "none"})`);
}

// The second feedback reaches --align-every, so it runs test-time alignment (one short iteration).
let alignment: AlignmentSummary | null = null;
for (const { query, truth } of FEEDBACK) {
  const out = JSON.parse(
    cli([
      "feedback",
      "--user",
      USER,
      "--query",
      query,
      "--truth",
      truth,
      "--align-every",
      String(FEEDBACK.length),
      "--iterations",
      "1",
      "--batch",
      String(FEEDBACK.length),
      "--json",
    ]),
  ) as {
    sinceAlignment: number;
    alignment: AlignmentSummary | null;
  };
  alignment = out.alignment ?? alignment;
  section(
    `feedback: ${truth}`,
    out.alignment
      ? `recorded; ${describeAlignment(out.alignment)}`
      : `recorded (${out.sinceAlignment} of ${FEEDBACK.length} before alignment)`,
  );
}

const after = JSON.parse(cli(["persona", "--user", USER, "--json"])) as { version: number; persona: string };
section(`persona after (v${after.version})`, after.persona);

// What alignment changed, why, and where it all lives.
section(
  `what changed (v${before.version} -> v${after.version}, "-" removed, "+" added)`,
  lineDiff(before.persona, after.persona).join("\n") || "(no change)",
);
const feedback = alignment?.iterations.flatMap((iteration) => iteration.feedback) ?? [];
section(
  "the feedback that produced it (LLM_grad, one per replayed interaction)",
  feedback
    .map(
      (f) =>
        `query: ${f.query}\n  the user said: ${f.expected}\n  the agent said: ${f.simulated}\n  feedback: ${f.feedback}`,
    )
    .join("\n") || "(no alignment ran)",
);
section(
  "where the data is",
  [
    ...(process.env.PERSONA_AGENT_DATABASE_URL
      ? [
          "PostgreSQL (PERSONA_AGENT_DATABASE_URL)  memories, profile, persona versions, interactions, conversation threads",
        ]
      : [
          `${dataDir}/store.sqlite        memories, profile, persona versions, interactions (SQLite)`,
          `${dataDir}/checkpoints.sqlite  conversation threads`,
        ]),
    `${dataDir}/indexes/            the user's FAISS index`,
    ...(keep
      ? [
          `see every version: npx persona-agent --data-dir ${dataDir} persona --user ${USER} --history`,
          `delete it all:     npx persona-agent --data-dir ${dataDir} forget --user ${USER}`,
        ]
      : [`(a temporary folder, removed now; run \`npm run demo -- --keep\` to keep it and look inside)`]),
  ].join("\n"),
);
