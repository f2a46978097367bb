/**
 * `persona-agent` command line. The contract (commands, options, `--json` shapes) is in
 * DESIGN.md and the README; settings come from PERSONA_AGENT_* variables and `.env`,
 * each overridable by an option. Each command lives in commands/<name>.ts and imports the
 * graphs, models and stores it needs only when it runs, so `--help` stays instant.
 */
import { Command, Option } from "commander";
import { UserError } from "../errors.js";
import { describeProviderError } from "../models/chat.js";
import { PROMPT_SETS } from "../settings.js";
import { registerAlign } from "./commands/align.js";
import { registerAsk } from "./commands/ask.js";
import { registerFeedback } from "./commands/feedback.js";
import { registerForget } from "./commands/forget.js";
import { registerIngest } from "./commands/ingest.js";
import { registerPersona } from "./commands/persona.js";
import { registerEvalCommands } from "./eval-command.js";

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

  registerIngest(program);
  registerAsk(program);
  registerPersona(program);
  registerFeedback(program);
  registerAlign(program);
  registerForget(program);
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
