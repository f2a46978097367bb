/**
 * `persona-agent eval` (LaMP evaluation), `persona-agent eval report`, and
 * `persona-agent data download` (LaMP's official files). See docs/EVAL.md.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { UserError } from "../errors.js";
import { validateSettings } from "../settings.js";
import { intOption, progress, resolveSettings } from "./shared.js";
import type { LampTask } from "../data/lamp.js";
import { downloadLamp, LAMP_SPLITS, lampBaseUrl, type LampSplit } from "../eval/download.js";
import { METHODS, parseMethod } from "../eval/method-names.js";

const TASKS = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"] as const satisfies readonly LampTask[];

interface EvalOpts {
  task?: LampTask;
  questions?: string;
  outputs?: string;
  method?: string;
  users: number;
  concurrency: number;
  out: string;
  k: number;
  batch: number;
  iterations: number;
  retries: number;
  backoffMs: number;
  json?: boolean;
}

function formatMetrics(metrics: object): string {
  return Object.entries(metrics).map(([name, value]) => `${name} ${(value as number).toFixed(4)}`).join(", ");
}

export function registerEvalCommands(program: Command): void {
  const evalCommand = program
    .command("eval")
    .description("evaluate a method on LaMP (official questions/outputs files); `eval report` tabulates runs")
    // Not requiredOption: commander would demand them from `eval report` too.
    .addOption(new Option("--task <task>", "LaMP task").choices(TASKS))
    .option("--questions <path>", "LaMP *_questions.json")
    .option("--outputs <path>", "LaMP *_outputs.json")
    .addOption(new Option("--method <method>", "method to evaluate").choices(METHODS))
    .option("--users <n>", "users with the most profile history to evaluate", intOption("--users", 1), 100)
    .option("--concurrency <n>", "queries in flight", intOption("--concurrency", 1), 4)
    .option("--out <dir>", "results cache and summaries", "eval-results")
    .option("--k <n>", "memories per retrieval of the agents (the paper's K)", intOption("--k", 1), 4)
    .option("--batch <n>", "alignment batch: latest n profile items (the paper's n)", intOption("--batch", 1), 3)
    .option("--iterations <n>", "alignment iterations (the paper's E)", intOption("--iterations", 1), 1)
    .option("--retries <n>", "retries of a query on rate limits and transient errors", intOption("--retries", 0), 4)
    .addOption(new Option("--backoff-ms <ms>", "first retry delay, doubled each retry").argParser(intOption("--backoff-ms", 0)).default(2000).hideHelp())
    .option("--json", 'print {"task", "method", "n", "metrics", "calls", "tokens", ...}')
    .action(async (opts: EvalOpts, command: Command) => {
      const missing = (["task", "questions", "outputs", "method"] as const).filter((name) => !opts[name]);
      if (missing.length > 0) throw new UserError(`eval needs ${missing.map((m) => `--${m}`).join(", ")}`);
      const task = opts.task!;
      const method = parseMethod(opts.method!);
      const settings = validateSettings(resolveSettings(command));
      const [{ LAMP_LABELS, loadLamp }, { runEval }] = await Promise.all([import("../data/lamp.js"), import("../eval/runner.js")]);
      const examples = await loadLamp(opts.questions!, opts.outputs!);
      const labels = LAMP_LABELS[task]!;
      const stray = examples.find((e) => !labels.includes(e.output.trim()));
      if (stray) throw new UserError(`${opts.outputs}: gold "${stray.output}" of question "${stray.id}" is not a ${task} label; is --task right?`);

      const bar = await progress(`eval ${task} ${method} {bar} {value}/{total} queries | ETA {eta_formatted}`);
      const summary = await runEval({
        task,
        method,
        examples,
        users: opts.users,
        concurrency: opts.concurrency,
        outDir: opts.out,
        model: settings.model,
        modelId: settings.model,
        settings,
        params: { k: opts.k, batch: opts.batch, iterations: opts.iterations },
        retries: opts.retries,
        backoffMs: opts.backoffMs,
        onProgress: (done, total) => bar.update(done, total),
      }).finally(() => bar.stop());
      const { n, metrics, calls, tokens } = summary;
      process.stdout.write(
        opts.json
          ? `${JSON.stringify({ task, method, n, metrics, calls, tokens, model: summary.model, failures: summary.failures, callsPerQuery: summary.callsPerQuery, msPerQuery: summary.msPerQuery })}\n`
          : `${task} ${method} on ${n} users: ${formatMetrics(metrics)} (${calls} LLM calls, ${tokens} tokens, ${summary.failures} failed)\n`,
      );
    });

  evalCommand
    .command("report")
    .description("write the Markdown/JSON tables (paper's Tables 2 and 3) and SVG pictures of the runs in --out")
    .option("--out <dir>", "the folder `eval` wrote to (default eval-results)")
    .option("--json", "print the written file paths as JSON")
    .action(async (_opts: unknown, command: Command) => {
      // `eval` has --out and --json too and commander hands them to the parent: read both levels.
      const opts = command.optsWithGlobals<{ out: string; json?: boolean }>();
      const { writeReport } = await import("../eval/report.js");
      const files = await writeReport(opts.out);
      process.stdout.write(opts.json ? `${JSON.stringify(files)}\n` : `${Object.values(files).join("\n")}\n`);
    });

  program
    .command("data")
    .description("benchmark data")
    .command("download")
    .description(`download LaMP's train/dev questions and outputs (host: env PERSONA_AGENT_LAMP_URL, default ${lampBaseUrl()})`)
    .addOption(new Option("--task <task>", "LaMP task").choices(TASKS).makeOptionMandatory())
    .addOption(new Option("--split <split>", "user- or time-based split").choices(LAMP_SPLITS).default("user"))
    .option("--cache <dir>", "where the files go (default <data-dir>/lamp)")
    .option("--force", "download again even if cached")
    .option("--json", "print the files as JSON")
    .action(async (opts: { task: LampTask; split: LampSplit; cache?: string; force?: boolean; json?: boolean }, command: Command) => {
      const cacheDir = opts.cache ?? join(resolveSettings(command).dataDir, "lamp");
      const bar = await progress("{label} {bar} {percentage}% | {value}/{total} bytes | ETA {eta_formatted}");
      const files = await downloadLamp(opts.task, opts.split, cacheDir, {
        force: opts.force,
        onProgress: ({ file, received, total }) => bar.update(received, total ?? 0, file.path),
      }).finally(() => bar.stop());
      process.stdout.write(opts.json ? `${JSON.stringify(files)}\n` : `${files.map((f) => `${f.path}${f.cached ? " (cached)" : ""}`).join("\n")}\n`);
    });
}
