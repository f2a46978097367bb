/**
 * `persona-agent` command line. The contract (commands, options, `--json` shapes) is in the
 * README's "Command line"; settings come from PERSONA_AGENT_* variables and `.env`,
 * each overridable by an option. Each command lives in commands/<name>.ts and imports the
 * graphs, models and stores it needs only when it runs, so `--help` stays instant.
 */
import { Command, Option } from "commander";
import { environmentError, oneLine, UserError } from "../../src/errors/errors.js";
import { debugEnabled, PROMPT_SETS } from "../../src/configuration/settings.js";
import { registerAlign } from "./commands/align.js";
import { registerAsk } from "./commands/ask.js";
import { registerFeedback } from "./commands/feedback.js";
import { registerForget } from "./commands/forget.js";
import { registerIngest } from "./commands/ingest.js";
import { registerPersona } from "./commands/persona.js";
import { registerEvalCommands } from "./eval-command.js";
import { cliMessage } from "./shared.js";
import packageJson from "../../package.json" with { type: "json" };

export function buildProgram(): Command {
  const program = new Command("persona-agent")
    .description("Personalized LLM agents with test-time persona alignment (PersonaAgent).")
    .version(packageJson.version, "--version", "print the version and exit")
    .option(
      "--model <provider:name>",
      "chat model (env PERSONA_AGENT_MODEL), e.g. openai:gpt-4o-mini, bedrock:<model-id>",
    )
    .option(
      "--embeddings <provider:name>",
      "embedding model (env PERSONA_AGENT_EMBEDDINGS), default local:universal-sentence-encoder",
    )
    .option(
      "--data-dir <dir>",
      "where the store and indexes live (env PERSONA_AGENT_DATA_DIR), default ./.persona-agent",
    )
    .option(
      "--database-url <url>",
      "PostgreSQL for the store and checkpointer (env PERSONA_AGENT_DATABASE_URL); default: SQLite in the data dir",
    )
    .addOption(
      new Option(
        "--prompts <set>",
        "prompt set (env PERSONA_AGENT_PROMPTS): paper = the paper's Appendices A-C verbatim (default), tuned = this project's rewrite",
      ).choices(PROMPT_SETS),
    )
    // Usage errors: commander's message as one line on stderr and exit 2 (see reportError);
    // the help goes to stdout only when asked for, never after an error.
    .configureOutput({
      writeErr: () => undefined,
      outputError: (message) => process.stderr.write(`persona-agent: ${oneLine(message.replace(/^error: /, ""))}\n`),
    })
    .exitOverride();

  registerIngest(program);
  registerAsk(program);
  registerPersona(program);
  registerFeedback(program);
  registerAlign(program);
  registerForget(program);
  registerEvalCommands(program);
  return program;
}

/** Exit codes: 0 done, 1 a bug, 2 a usage or input mistake, 3 a service (model, database, network) unreachable, 4 an eval that finished with failed queries. */
export async function reportError(error: unknown): Promise<number> {
  const e = error as { code?: string; exitCode?: number; message?: string };
  if (e?.code === "commander.helpDisplayed" || e?.code === "commander.version") return 0;
  if (e?.code === "commander.help") {
    // A command group run without its command (commander would print the whole help).
    process.stderr.write("persona-agent: missing command (see --help)\n");
    return 2;
  }
  if (e?.code?.startsWith("commander.")) return 2; // commander printed its one-line error
  if (error instanceof UserError) {
    process.stderr.write(`persona-agent: ${cliMessage(error)}\n`);
    return error.exitCode;
  }
  const environment = environmentError(error);
  if (environment) {
    process.stderr.write(`persona-agent: ${environment.message}\n`);
    return environment.exitCode;
  }
  // Loaded only now: the provider error classes come with the HTTP clients' modules.
  const { describeProviderError } = await import("../../src/models/chat.js");
  const provider = describeProviderError(error);
  if (provider) {
    process.stderr.write(`persona-agent: ${provider}\n`);
    return 3;
  }
  if (debugEnabled()) console.error(error);
  else
    process.stderr.write(
      `persona-agent: unexpected error: ${e?.message ?? String(error)} (set PERSONA_AGENT_DEBUG=1 for details)\n`,
    );
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
