/**
 * `persona-agent` command line. The contract (commands, options, `--json` shapes) is in
 * DESIGN.md and the README; settings come from PERSONA_AGENT_* variables and `.env`,
 * each overridable by an option.
 */
import { join } from "node:path";
import { Command, Option } from "commander";
import { builder as personaAgentBuilder } from "../../graphs/persona_agent.js";
import { builder as alignmentBuilder } from "../../graphs/alignment.js";
import { FeedbackLog } from "../alignment/feedback-log.js";
import { describeAlignment, summarizeAlignment, type AlignmentSummary } from "../alignment/run.js";
import { alignmentRecursionLimit, DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS, ensureAlignmentConfiguration } from "../alignment/configuration.js";
import { lineDiff } from "../persona/persona.js";
import { UserError } from "../errors.js";
import { describeProviderError } from "../models/chat.js";
import { servicesFor, type Services } from "../services.js";
import { openPersistence, type Persistence } from "../store/open.js";
import { readHistoryFile, validateText } from "../memory/history.js";
import { ingestHistory, unknownUserError } from "../memory/ingest.js";
import { PROFILE_TASKS, parseProfileTask } from "../memory/semantic.js";
import { validateQuery } from "../agent/nodes.js";
import { forgetUser } from "../forget.js";
import { askWithThread } from "../conversation.js";
import { asUserRun, UserForgottenError } from "../store/lifecycle.js";
import { validateUserId } from "../users.js";
import type { Configuration } from "../configuration.js";
import { PROMPT_SETS } from "../settings.js";
import { registerEvalCommands } from "./eval-command.js";
import { intOption, print, progress, resolveSettings } from "./shared.js";

/** Opens the store and checkpointer, runs `fn` with the user's services, and always closes them. */
async function withUser<T>(
  command: Command,
  userId: string,
  overrides: Partial<Configuration>,
  fn: (services: Services, persistence: Persistence) => Promise<T>,
): Promise<T> {
  const settings = resolveSettings(command);
  validateUserId(userId);
  const persistence = await openPersistence(settings);
  const { store } = persistence;
  try {
    const configurable: Partial<Configuration> = {
      userId,
      model: settings.model,
      embeddings: settings.embeddings,
      indexDir: join(settings.dataDir, "indexes"),
      promptSet: settings.promptSet,
      ...overrides,
    };
    // One run of the user: a forget by another process after this point refuses its later writes.
    return await asUserRun(store, userId, () => fn(servicesFor({ configurable, store }), persistence));
  } finally {
    await persistence.close();
  }
}


interface AlignOptions {
  batch?: number;
  iterations?: number;
  validate?: boolean;
}

/** Runs the alignment graph on the embedded store with the command's settings. */
async function align(services: Services, { store }: Persistence, opts: AlignOptions): Promise<AlignmentSummary> {
  const graph = alignmentBuilder.compile({ store });
  const configurable = { ...services.config, batchSize: opts.batch, iterations: opts.iterations, validate: Boolean(opts.validate) };
  const { iterations, validate } = ensureAlignmentConfiguration({ configurable }); // bounds checked before any step
  return summarizeAlignment(await graph.invoke({ userId: services.config.userId }, { configurable, recursionLimit: alignmentRecursionLimit(iterations, validate) }));
}

function addAlignOptions(command: Command): Command {
  return command
    .option("--batch <n>", `latest interactions re-run per iteration (default ${DEFAULT_BATCH_SIZE})`, intOption("--batch", 1))
    .option("--iterations <n>", `alignment iterations (default ${DEFAULT_ITERATIONS})`, intOption("--iterations", 1))
    .option("--validate", "keep the new persona only if it matches at least as many held-out true responses (exact match) as the old one");
}

export function buildProgram(): Command {
  const program = new Command("persona-agent")
    .description("Personalized LLM agents with test-time persona alignment (PersonaAgent).")
    .option("--model <provider:name>", "chat model (env PERSONA_AGENT_MODEL), e.g. openai:gpt-4o-mini, bedrock:<model-id>")
    .option("--embeddings <provider:name>", "embedding model (env PERSONA_AGENT_EMBEDDINGS), default local:universal-sentence-encoder")
    .option("--data-dir <dir>", "where the store and indexes live (env PERSONA_AGENT_DATA_DIR), default ./.persona-agent")
    .option("--database-url <url>", "PostgreSQL for the store and checkpointer (env PERSONA_AGENT_DATABASE_URL); default: SQLite in the data dir")
    .addOption(new Option("--prompts <set>", "prompt set (env PERSONA_AGENT_PROMPTS): paper = the paper's Appendices A-C verbatim (default), tuned = this project's rewrite").choices(PROMPT_SETS))
    .showHelpAfterError()
    .exitOverride();

  program
    .command("ingest")
    .description("add a JSONL history to the user's memory, (re)build the profile, initialize the persona if none")
    .requiredOption("--user <id>", "user id")
    .requiredOption("--file <path>", 'JSONL file, one {"query", "response", "timestamp"?, "metadata"?} per line')
    .addOption(new Option("--task <task>", "which profile summarization prompt to use").choices(PROFILE_TASKS).default("general"))
    .option("--json", "print the result as JSON")
    .action(async (opts: { user: string; file: string; task: string; json?: boolean }, command: Command) => {
      const task = parseProfileTask(opts.task);
      const entries = await readHistoryFile(opts.file);
      const bar = progress("embedding {bar} {value}/{total} entries | ETA {eta_formatted}");
      const result = await withUser(command, opts.user, {}, (services) =>
        ingestHistory(services, opts.user, entries, { task, onProgress: (done, total) => bar.update(done, total) }).finally(() => bar.stop()),
      );
      print(
        Boolean(opts.json),
        { user: opts.user, ...result },
        `${result.added} new entries (${result.skipped} already known); profile ${result.profileUpdated ? "updated" : "unchanged"}; ` +
          `persona v${result.personaVersion}${result.personaCreated ? " created" : ""}`,
      );
    });

  program
    .command("ask")
    .description("ask the user's persona agent a question")
    .requiredOption("--user <id>", "user id")
    .option("--k <n>", "memories per retrieval (env PERSONA_AGENT_K, default 4)", intOption("--k", 1))
    .option("--max-tool-steps <n>", "tool-calling turns before the agent must answer (default 4)", intOption("--max-tool-steps", 0))
    .option("--thread <id>", "continue this conversation (its earlier turns are kept); default: a new one")
    .option("--json", 'print {"answer", "personaVersion", "toolCalls", "thread"}')
    .argument("<query>", "the question")
    .action(async (query: string, opts: { user: string; k?: number; maxToolSteps?: number; thread?: string; json?: boolean }, command: Command) => {
      validateQuery(query);
      const overrides: Partial<Configuration> = {
        ...(opts.k !== undefined ? { k: opts.k } : {}),
        ...(opts.maxToolSteps !== undefined ? { maxToolSteps: opts.maxToolSteps } : {}),
      };
      const result = await withUser(command, opts.user, overrides, (services, persistence) =>
        askWithThread(services, persistence, (checkpointer) => personaAgentBuilder.compile({ store: persistence.store, checkpointer }), query, opts.thread),
      );
      print(
        Boolean(opts.json),
        { answer: result.answer, personaVersion: result.personaVersion, toolCalls: result.toolCalls, thread: result.thread },
        result.answer,
      );
    });

  program
    .command("persona")
    .description("show the user's current persona (and its versions)")
    .requiredOption("--user <id>", "user id")
    .option("--history", "show every version")
    .option("--json", 'print {"version", "persona", "history": [{"version", "createdAt", "persona"}]}')
    .action(async (opts: { user: string; history?: boolean; json?: boolean }, command: Command) => {
      const { current, history } = await withUser(command, opts.user, {}, async ({ personas, memory }) => {
        const current = await personas.current(opts.user);
        if (!current) throw await unknownUserError(memory, opts.user, "no persona yet (run persona-agent ingest first)");
        return { current, history: await personas.history(opts.user) };
      });
      const versions = history.map(({ version, createdAt, persona, origin }) => ({ version, createdAt, origin, persona }));
      // Each version with its time, origin and what changed against the one before.
      const text = opts.history
        ? versions
            .map((v, i) => {
              const changes = i === 0 ? v.persona : lineDiff(versions[i - 1]!.persona, v.persona).join("\n") || "(no change)";
              return `--- v${v.version} (${v.origin}, ${v.createdAt})\n${changes}`;
            })
            .join("\n\n")
        : `v${current.version} (${current.origin}, ${current.createdAt})\n${current.persona}`;
      print(Boolean(opts.json), { version: current.version, persona: current.persona, history: versions }, text);
    });

  addAlignOptions(
    program
      .command("feedback")
      .description("record the user's true response to a query; every --align-every feedbacks, align the persona")
      .requiredOption("--user <id>", "user id")
      .requiredOption("--query <text>", "the query")
      .requiredOption("--truth <text>", "the user's true response")
      .option("--align-every <n>", "run alignment after this many new feedbacks", intOption("--align-every", 1), 3)
      .option("--json", 'print {"user", "sinceAlignment", "alignment": {...} | null}'),
  ).action(async (opts: AlignOptions & { user: string; query: string; truth: string; alignEvery: number; json?: boolean }, command: Command) => {
    const query = validateQuery(opts.query);
    const truth = validateText(opts.truth, "the true response (--truth)");
    const out = await withUser(command, opts.user, {}, async (services, persistence) => {
      if (!(await services.personas.current(opts.user))) {
        throw new UserError(`unknown user "${opts.user}": no persona yet (run persona-agent ingest first)`);
      }
      await services.memory.add(opts.user, [{ query, response: truth, timestamp: new Date().toISOString() }]);
      const sinceAlignment = await new FeedbackLog(persistence.store).add(opts.user);
      // The feedback is stored before alignment runs: if alignment fails, say so, so that the
      // user retries the alignment and not the feedback (which would store it twice).
      const alignment =
        sinceAlignment >= opts.alignEvery
          ? await align(services, persistence, opts).catch((error: unknown) => {
              if (error instanceof UserForgottenError) throw error; // nothing of the feedback is left to retry
              const reason = error instanceof UserError ? error.message : (describeProviderError(error) ?? String((error as Error)?.message ?? error));
              throw new UserError(`feedback recorded, but alignment failed: ${reason.replace(/^alignment failed: /, "")} (retry with persona-agent align --user ${opts.user})`, 3);
            })
          : null;
      return { user: opts.user, sinceAlignment, alignment };
    });
    print(
      Boolean(opts.json),
      out,
      out.alignment
        ? `feedback recorded; ${out.sinceAlignment} since the last alignment, so ${describeAlignment(out.alignment)}`
        : `feedback recorded (${out.sinceAlignment} of ${opts.alignEvery} before the next alignment)`,
    );
  });

  addAlignOptions(
    program
      .command("align")
      .description("run test-time alignment of the user's persona now (Algorithm 1)")
      .requiredOption("--user <id>", "user id")
      .option("--json", 'print {"user", "fromVersion", "toVersion", "iterations": [{"version", "kept", "feedback"}], "validated"?}'),
  ).action(async (opts: AlignOptions & { user: string; json?: boolean }, command: Command) => {
    const summary = await withUser(command, opts.user, {}, (services, persistence) => align(services, persistence, opts));
    print(Boolean(opts.json), summary, describeAlignment(summary));
  });

  program
    .command("forget")
    .description("delete every record of the user (memories, profile, personas, interactions, conversation threads, indexes)")
    .requiredOption("--user <id>", "user id")
    .option("--json", "print the result as JSON")
    .action(async (opts: { user: string; json?: boolean }, command: Command) => {
      const deleted = await withUser(command, opts.user, {}, ({ memory }, persistence) => forgetUser(persistence.store, memory, opts.user, persistence.checkpointer, persistence));
      print(
        Boolean(opts.json),
        { user: opts.user, deleted },
        deleted > 0 ? `deleted ${deleted} records of user "${opts.user}"` : `no records of user "${opts.user}"`,
      );
    });

  registerEvalCommands(program);
  return program;
}

/** One line on stderr and a non-zero exit for anything a user can fix; a trace only for bugs. */
export function reportError(error: unknown): number {
  const e = error as { code?: string; exitCode?: number; message?: string };
  if (e?.code?.startsWith("commander.")) {
    // commander already printed help/version or its own one-line error
    return e.exitCode ?? 1;
  }
  if (error instanceof UserError) {
    process.stderr.write(`persona-agent: ${error.message}\n`);
    return error.exitCode;
  }
  const provider = describeProviderError(error);
  if (provider) {
    process.stderr.write(`persona-agent: ${provider}\n`);
    return 3;
  }
  if (process.env.PERSONA_AGENT_DEBUG) console.error(error);
  else process.stderr.write(`persona-agent: unexpected error: ${e?.message ?? String(error)} (set PERSONA_AGENT_DEBUG=1 for details)\n`);
  return 1;
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
