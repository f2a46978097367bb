/**
 * `persona-agent eval` (LaMP evaluation), `persona-agent eval report`, and
 * `persona-agent data download` (LaMP's official files). See docs/EVAL.md.
 */
import { join } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { IncompleteRunError, UserError } from "../../src/errors/errors.js";
import { parseNumber, validateSettings } from "../../src/configuration/settings.js";
import { intOption, progress, resolveSettings } from "./shared.js";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import type { LampTask } from "../eval/data/lamp.js";
import { LAMP_SPLITS, lampBaseUrl, SPLITS, type LampSplit, type Split } from "../eval/data/lamp-names.js";
import type { PopulationSummary } from "../eval/data/oppu.js";
import type { StreamedPopulation } from "../eval/data/lamp-stream.js";
import type { PlanRow } from "../eval/plan.js";
import { METHODS, parseMethod } from "../eval/method-names.js";

const TASKS = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"] as const satisfies readonly LampTask[];

interface EvalOpts {
  /** One for `eval`, any number for `eval plan`. */
  task: LampTask[];
  questions: string[];
  outputs: string[];
  oppu?: string;
  split: Split;
  lampDir?: string;
  method: string[];
  users: number;
  seed: number;
  concurrency: number;
  out: string;
  k: number;
  batch: number;
  iterations: number;
  retryFor: number;
  backoffMs: number;
  progressEvery: number;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];
/** A repeatable option with a fixed set of values (commander's own message for another value). */
const collectChoice = (choices: readonly string[]) => (value: string, previous: string[]) => {
  if (!choices.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${choices.join(", ")}.`);
  return [...previous, value];
};

function formatMetrics(metrics: object, failures: number): string {
  const failed = failures > 0 ? ` (${failures} failed)` : "";
  return Object.entries(metrics)
    .map(([name, value]) => `${name} ${(value as number).toFixed(4)}${failed}`)
    .join(", ");
}

/** The files' content hashes (the run key's data) and the paths as given (labels). */
async function dataFiles(files: string[]): Promise<{ data: string[]; files: string[] }> {
  const { dataFileId } = await import("../eval/runner.js");
  return { data: await Promise.all(files.map(dataFileId)), files };
}

/** `JSON.stringify(items, null, 1)` and a newline, written one item at a time: no string holds the whole file. */
async function writeJsonArray(path: string, items: readonly unknown[]): Promise<void> {
  const file = await open(path, "w");
  const write = async (text: string) => void (await file.write(text));
  try {
    await write(items.length === 0 ? "[]" : "[");
    for (const [i, item] of items.entries())
      await write(`${i ? "," : ""}\n ${JSON.stringify(item, null, 1).replace(/\n/g, "\n ")}`);
    await write(items.length === 0 ? "\n" : "\n]\n");
  } finally {
    await file.close();
  }
}

/** Seconds, as a number option (fractions allowed). */
const secondsOption = (name: string, min: number) => (raw: string) => parseNumber(raw, name, { min, integer: false });

/** One line: persons, queries per person, and what grouping and the profile rules did. */
function describePopulation(summary: PopulationSummary): string {
  const { persons, questions, queriesPerPerson: q, merged, leaksRemoved, laterRemoved } = summary;
  return `${persons} persons from ${questions} questions (${merged} merged into another's person); queries per person min ${q.min}, median ${q.median}, max ${q.max}; ${leaksRemoved} profile items removed as a query's own item, ${laterRemoved} dated on or after the person's first query`;
}

/**
 * The population from LaMP question/output file pairs (grouped into persons, apps/eval/data/persons.ts,
 * read as streams: files of any size) or an OPPU per-user file, its summary, and the files' ids
 * for the run key. `select`: materialize only the most active persons (undefined: all of them).
 */
async function loadPopulation(
  opts: Pick<EvalOpts, "questions" | "outputs" | "oppu" | "split" | "lampDir">,
  task: LampTask,
  select?: number,
): Promise<StreamedPopulation & { data: string[]; files: string[] }> {
  const [{ loadLampOutputs }, { checkNoLeaks, loadOppuUsers }, { summarize }, { streamLampPopulation }] =
    await Promise.all([
      import("../eval/data/lamp.js"),
      import("../eval/data/oppu.js"),
      import("../eval/data/persons.js"),
      import("../eval/data/lamp-stream.js"),
    ]);
  if (opts.oppu && opts.questions.length > 0)
    throw new UserError("give either --oppu or --questions/--outputs, not both");
  if (opts.oppu) {
    if (opts.outputs.length > 1) throw new UserError("--oppu takes at most one --outputs (its golds)");
    const golds = opts.outputs[0] ? (await loadLampOutputs(opts.outputs[0])).golds : undefined;
    const users = await loadOppuUsers(opts.oppu, golds);
    checkNoLeaks(task, users, opts.oppu);
    return {
      users,
      summary: summarize(
        users,
        users.reduce((n, u) => n + u.queries.length, 0),
      ),
      ...(await dataFiles([opts.oppu, ...opts.outputs])),
    };
  }
  const pairs =
    opts.questions.length === 0 && opts.outputs.length === 0 && opts.lampDir
      ? await downloadedPairs(opts.lampDir, task, opts.split)
      : opts.questions.map((questions, i) => ({ questions, outputs: opts.outputs[i]! }));
  if (pairs.length === 0 || opts.questions.length !== opts.outputs.length) {
    throw new UserError(
      "eval needs --oppu FILE, or --questions and --outputs in pairs (one --outputs per --questions)",
    );
  }
  return {
    ...(await streamLampPopulation(task, pairs, opts.split, select)),
    ...(await dataFiles([...opts.questions, ...opts.outputs])),
  };
}

/** The question/output pairs `data download` put in `dir` for the task and split (train, then dev); an error when there are none. */
async function downloadedPairs(
  dir: string,
  task: LampTask,
  split: Split,
): Promise<{ questions: string; outputs: string }[]> {
  const { lampFiles } = await import("../eval/download.js");
  const files = lampFiles(task, split).map((f) => join(dir, f.path));
  const pairs = [0, 2]
    .map((i) => ({ questions: files[i]!, outputs: files[i + 1]! }))
    .filter((pair) => existsSync(pair.questions) && existsSync(pair.outputs));
  if (pairs.length === 0)
    throw new UserError(
      `--lamp-dir ${dir}: no ${task} ${split} files (run persona-agent data download --task ${task} --split ${split} --cache ${dir}, or give --questions and --outputs)`,
    );
  return pairs;
}

export function registerEvalCommands(program: Command): void {
  const evalCommand = program
    .command("eval")
    .description(
      "evaluate a method on LaMP (the paper's protocol: most active users, every test query); `eval plan` estimates calls, tokens and cost first; `eval report` tabulates runs",
    )
    // Not requiredOption: commander would demand them from `eval report` too.
    .addOption(
      new Option("--task <task>", "LaMP task (`eval plan`: repeat for several)")
        .argParser(collectChoice(TASKS))
        .default([], ""),
    )
    .option("--questions <path>", "LaMP *_questions.json (repeat for every file of the split)", collect, [])
    .option(
      "--outputs <path>",
      "LaMP *_outputs.json, one per --questions in the same order (or the golds of --oppu)",
      collect,
      [],
    )
    .option(
      "--oppu <path>",
      "OPPU's per-user file [{user_id, profile, query: [{id, input, gold?}]}] instead of --questions",
    )
    .addOption(
      new Option(
        "--split <split>",
        "time: group questions into persons by shared profile items (the paper's users); user: every question its own user",
      )
        .choices(SPLITS)
        .default("time"),
    )
    .option(
      "--lamp-dir <dir>",
      "without --questions/--oppu: LaMP's train and dev files of the task and --split where `data download --cache` put them",
    )
    .addOption(
      new Option("--method <method>", "method to evaluate (`eval plan`: repeat for several)")
        .argParser(collectChoice(METHODS))
        .default([], ""),
    )
    .option(
      "--users <n>",
      "the most active users to evaluate (largest profiles over all files; ties: user id)",
      intOption("--users", 1),
      100,
    )
    .option(
      "--seed <n>",
      "seed of LaMP-1's sampled negatives and [1]/[2] order, and of ICL's demonstrations",
      intOption("--seed", 0),
      0,
    )
    .option("--concurrency <n>", "users in flight", intOption("--concurrency", 1), 4)
    .option("--out <dir>", "results, summaries and the eval embedding cache", "eval-results")
    .option("--k <n>", "memories per retrieval of the agents (the paper's K)", intOption("--k", 1), 4)
    .option("--batch <n>", "alignment batch: latest n profile items (the paper's n)", intOption("--batch", 1), 3)
    .option("--iterations <n>", "alignment iterations (the paper's E)", intOption("--iterations", 1), 1)
    .option(
      "--retry-for <seconds>",
      "how long one query keeps retrying rate limits, 5xx and connection resets (backoff with jitter) before it counts as failed",
      secondsOption("--retry-for", 0),
      300,
    )
    .option(
      "--backoff-ms <ms>",
      "first retry delay, doubled each retry (at most 60 s)",
      intOption("--backoff-ms", 0),
      2000,
    )
    .option(
      "--progress-every <seconds>",
      "when stderr is not a terminal: a progress line this often",
      secondsOption("--progress-every", 0.1),
      30,
    )
    .option(
      "--json",
      'print {"task", "method", "users", "queries", "failures", "skipped", "metrics", "calls", "tokens", "spent", "runId", "dataFingerprint", "population", ...}',
    )
    .action(async (opts: EvalOpts, command: Command) => {
      const missing = (["task", "method"] as const).filter((name) => opts[name].length === 0);
      if (missing.length > 0) throw new UserError(`eval needs ${missing.map((m) => `--${m}`).join(", ")}`);
      const several = (["task", "method"] as const).find((name) => opts[name].length > 1);
      if (several) throw new UserError(`eval runs one --${several} at a time (\`eval plan\` takes several)`);
      const task = opts.task[0]!;
      const method = parseMethod(opts.method[0]!);
      const settings = validateSettings(resolveSettings(command));
      const [{ checkUsers }, { runEval }, { formatCost, priceTable }, { evalProgress }] = await Promise.all([
        import("../eval/data/oppu.js"),
        import("../eval/runner.js"),
        import("../eval/prices.js"),
        import("./eval-progress.js"),
      ]);
      const prices = priceTable(); // a bad PERSONA_AGENT_PRICES file is refused before any work
      // ICL draws demonstrations from the whole population; other methods need only the persons evaluated.
      const {
        users,
        summary: population,
        papers,
        data,
        files,
      } = await loadPopulation(opts, task, method === "icl" ? undefined : opts.users);
      checkUsers(users, files.join(", "));
      if (!opts.json) process.stderr.write(`population: ${describePopulation(population)}\n`);

      const bar = await evalProgress(`eval ${task} ${method}`, { everyMs: opts.progressEvery * 1000 });
      const summary = await runEval({
        task,
        method,
        users,
        userCount: opts.users,
        papers,
        population,
        concurrency: opts.concurrency,
        outDir: opts.out,
        model: settings.model,
        modelId: settings.model,
        settings,
        params: { k: opts.k, batch: opts.batch, iterations: opts.iterations },
        run: { data, files, split: opts.split, seed: opts.seed },
        retryForMs: opts.retryFor * 1000,
        backoffMs: opts.backoffMs,
        prices,
        onProgress: (p) => bar.update(p),
        onNotice: (line) => process.stderr.write(`persona-agent: ${line}\n`),
      }).finally(() => bar.stop());
      const { metrics, calls, tokens, failures, spent, skipped } = summary;
      const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
      const skippedText =
        skipped.length > 0
          ? `; skipped ${count(skipped.length, "user", "users")} with nothing to align on: ${skipped.map((s) => `${s.user} (${count(s.queries, "query", "queries")})`).join(", ")}`
          : "";
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ task, method, users: summary.users, queries: summary.queries, n: summary.n, failures, skipped, metrics, calls, tokens, spent, model: summary.model, callsPerQuery: summary.callsPerQuery, msPerQuery: summary.msPerQuery, runId: summary.runId, dataFingerprint: summary.dataFingerprint, runKey: summary.runKey, population })}\n`
          : `${task} ${method} on ${summary.users} users, ${summary.queries} queries: ${formatMetrics(metrics, failures)} (${calls} LLM calls, ${tokens} tokens; spent ${spent.calls} calls, ${spent.tokens} tokens, ${formatCost(spent.cost)}; run ${summary.runId}, data ${summary.dataFingerprint})${skippedText}\n`,
      );
      if (failures > 0) {
        throw new IncompleteRunError(
          `${failures} of ${summary.queries} queries failed (scored as invalid answers; the reasons are in ${opts.out}/results); run the same command again to ask only the failed ones`,
        );
      }
    });

  evalCommand
    .command("plan")
    .description(
      "before any call: per task and method the users, queries, model calls, tokens and cost an `eval` with the same flags would take, and the total; the flags are eval's (see `eval --help`), --task and --method repeat",
    )
    .action(async (_opts: unknown, command: Command) => {
      // The flags are eval's: commander hands them to the parent.
      const opts = command.parent!.opts<EvalOpts>();
      if (opts.task.length === 0 || opts.method.length === 0)
        throw new UserError("eval plan needs --task and --method (each may repeat)");
      if (opts.task.length > 1 && (opts.questions.length > 0 || opts.oppu))
        throw new UserError("with several --task, the files come from --lamp-dir (one --task for --questions/--oppu)");
      const settings = validateSettings(resolveSettings(command));
      const [{ formatPlan, planTask }, { priceTable }] = await Promise.all([
        import("../eval/plan.js"),
        import("../eval/prices.js"),
      ]);
      const prices = priceTable();
      const methods = [...new Set(opts.method)].map(parseMethod);
      const rows: PlanRow[] = [];
      for (const task of [...new Set(opts.task)]) {
        const { users, papers } = await loadPopulation(opts, task, methods.includes("icl") ? undefined : opts.users);
        rows.push(
          ...(await planTask({
            task,
            methods,
            users,
            userCount: opts.users,
            papers,
            params: { k: opts.k, batch: opts.batch, iterations: opts.iterations },
            seed: opts.seed,
            promptSet: settings.promptSet,
            model: settings.model,
            prices,
          })),
        );
      }
      process.stdout.write(formatPlan(rows, settings.model, opts.json === true));
    });

  evalCommand
    .command("report")
    .description(
      "write the paper's Tables 2 and 3 beside our runs in --out (Markdown, JSON) and Figures 2-5 (SVG + PNG); the persona map embeds final personas with the --embeddings model",
    )
    .option("--out <dir>", "the folder `eval` wrote to (default eval-results)")
    .option("--html", "also write report/report.html: one self-contained page with the tables and figures")
    .option(
      "--run <ids...>",
      "report exactly these runs (run ids or unique prefixes; one per cell) instead of the newest complete run of each cell",
    )
    .option("--json", "print the written file paths as JSON")
    .action(async (_opts: unknown, command: Command) => {
      // `eval` has --out and --json too and commander hands them to the parent: read both levels.
      const opts = command.optsWithGlobals<{ out: string; html?: boolean; json?: boolean; run?: string[] }>();
      const settings = resolveSettings(command);
      // Loaded on use: the plotting libraries are large and no other command needs them.
      const [{ writeReport }, { createEmbeddings }] = await Promise.all([
        import("../eval/report.js"),
        import("../../src/models/embeddings.js"),
      ]);
      const files = await writeReport(opts.out, {
        html: opts.html,
        runs: opts.run,
        embeddings: await createEmbeddings(settings.embeddings, settings),
      });
      process.stdout.write(opts.json ? `${JSON.stringify(files)}\n` : `${Object.values(files).join("\n")}\n`);
    });

  const data = program.command("data").description("benchmark data");
  data
    .command("convert")
    .description(
      "LaMP question files to OPPU's per-user format (persons: profile + queries; a query's own item removed from the profile); optionally each user's profile as an ingest JSONL",
    )
    .addOption(new Option("--task <task>", "LaMP task").choices(TASKS).makeOptionMandatory())
    .option("--questions <path>", "LaMP *_questions.json (repeat for every file of the split)", collect, [])
    .option("--outputs <path>", "LaMP *_outputs.json, one per --questions in the same order", collect, [])
    .addOption(
      new Option("--split <split>", "how questions become users (see eval --split)").choices(SPLITS).default("time"),
    )
    .option("--users <n>", "keep only the most active users", intOption("--users", 1))
    .option("--seed <n>", "seed of LaMP-1's sampled negatives and [1]/[2] order", intOption("--seed", 0), 0)
    .requiredOption("--out <path>", "the per-user JSON file to write")
    .option(
      "--histories <dir>",
      "also write <dir>/<user>.jsonl: the user's profile as task-shaped interactions, for `ingest --task`",
    )
    .option("--json", "print the written files and counts as JSON")
    .action(
      async (opts: {
        task: LampTask;
        questions: string[];
        outputs: string[];
        split: Split;
        users?: number;
        seed: number;
        out: string;
        histories?: string;
        json?: boolean;
      }) => {
        const {
          users: read,
          summary: population,
          papers,
        } = await loadPopulation({ ...opts, oppu: undefined }, opts.task, opts.users);
        const [{ profileInteractions }, { checkUsers, selectActiveUsers }] = await Promise.all([
          import("../eval/data/lamp.js"),
          import("../eval/data/oppu.js"),
        ]);
        checkUsers(read, opts.questions.join(", "));
        const users = opts.users ? selectActiveUsers(read, opts.users) : read; // the most active first
        await writeJsonArray(
          opts.out,
          users.map((u) => ({
            user_id: u.id,
            profile: u.profile,
            query: u.queries.map((q) => ({ id: q.id, input: q.input, gold: q.output })),
          })),
        );
        const histories: string[] = [];
        if (opts.histories) {
          mkdirSync(opts.histories, { recursive: true });
          for (const user of users) {
            const entries = await profileInteractions(opts.task, user.id, user.profile, {
              seed: opts.seed,
              otherPapers: papers,
            });
            const path = join(opts.histories, `${user.id.replace(/[^A-Za-z0-9._-]+/g, "_")}.jsonl`);
            writeFileSync(path, entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
            histories.push(path);
          }
        }
        const queries = users.reduce((n, u) => n + u.queries.length, 0);
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ out: opts.out, users: users.length, queries, histories, population })}\n`
            : `${opts.out}: ${users.length} users, ${queries} queries${histories.length ? `; ${histories.length} histories in ${opts.histories}` : ""}\npopulation: ${describePopulation(population)}\n`,
        );
      },
    );

  data
    .command("download")
    .description(
      `download LaMP's train/dev questions and outputs (host: env PERSONA_AGENT_LAMP_URL, default ${lampBaseUrl()})`,
    )
    .addOption(new Option("--task <task>", "LaMP task").choices(TASKS).makeOptionMandatory())
    .addOption(new Option("--split <split>", "time- or user-based split").choices(LAMP_SPLITS).default("time"))
    .option("--cache <dir>", "where the files go (default <data-dir>/lamp)")
    .option("--force", "download again even if cached")
    .option("--json", "print the files as JSON")
    .action(
      async (
        opts: { task: LampTask; split: LampSplit; cache?: string; force?: boolean; json?: boolean },
        command: Command,
      ) => {
        const cacheDir = opts.cache ?? join(resolveSettings(command).dataDir, "lamp");
        const { downloadLamp } = await import("../eval/download.js");
        const bar = await progress("{label} {bar} {percentage}% | {value}/{total} bytes | ETA {eta_formatted}");
        const files = await downloadLamp(opts.task, opts.split, cacheDir, {
          force: opts.force,
          onProgress: ({ file, received, total }) => bar.update(received, total ?? 0, file.path),
        }).finally(() => bar.stop());
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(files)}\n`
            : `${files.map((f) => `${f.path}${f.cached ? " (cached)" : ""}`).join("\n")}\n`,
        );
      },
    );
}
