/** Pieces every command uses: settings with the global options applied, output, progress. */
import type { Command } from "commander";
import { InputError, type UserError } from "../../src/errors/errors.js";
import { parseNumber, settingsFromEnv, type PromptSet, type Settings } from "../../src/configuration/settings.js";

/** Settings from the environment, overridden by the global options. */
export function resolveSettings(command: Command): Settings {
  const options = command.optsWithGlobals<{
    model?: string;
    embeddings?: string;
    dataDir?: string;
    databaseUrl?: string;
    prompts?: PromptSet;
  }>();
  const settings = settingsFromEnv();
  return {
    ...settings,
    model: options.model ?? settings.model,
    embeddings: options.embeddings ?? settings.embeddings,
    dataDir: options.dataDir ?? settings.dataDir,
    databaseUrl: options.databaseUrl ?? settings.databaseUrl,
    promptSet: options.prompts ?? settings.promptSet,
    setBy: {
      ...(options.dataDir !== undefined ? { dataDir: "--data-dir" } : {}),
      ...(options.databaseUrl !== undefined ? { databaseUrl: "--database-url" } : {}),
    },
  };
}

export const intOption = (name: string, min: number) => (raw: string) => parseNumber(raw, name, { min, integer: true });

/**
 * The API's names of the inputs the CLI takes as flags. Errors name inputs as the API does
 * (src/errors/errors.ts); the CLI names the flag the user typed.
 */
const FLAGS: Record<string, string> = {
  userId: "--user",
  k: "--k",
  maxToolSteps: "--max-tool-steps",
  promptSet: "--prompts",
  batchSize: "--batch",
  iterations: "--iterations",
  validate: "--validate",
  alignEvery: "--align-every",
};

/** A user's mistake as the CLI says it: with its flags and commands instead of the API's names. */
export function cliMessage(error: UserError): string {
  if (error.cliMessage !== undefined) return error.cliMessage;
  if (error instanceof InputError) return error.describe(FLAGS[error.input] ?? error.input);
  return error.message;
}

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

/**
 * Progress of a run's steps on stderr: on a terminal a bar per step (progress below); elsewhere
 * (a pipe, a log, CI) one plain line per report, `persona-agent: <what> <step> <done>/<total>`.
 */
export async function stepProgress(what: string) {
  if (process.stderr.isTTY) {
    const bar = await progress(`${what} {label} {bar} {value}/{total}`);
    return {
      update: (step: string, done: number, total: number) => bar.update(done, total, step),
      stop: () => bar.stop(),
    };
  }
  return {
    update: (step: string, done: number, total: number) =>
      process.stderr.write(`persona-agent: ${what} ${step} ${done}/${total}\n`),
    stop: () => undefined,
  };
}

/**
 * A progress bar on stderr that appears with the first report (only then is the total known)
 * and restarts when `label` changes. cli-progress draws only on a terminal; it is loaded here,
 * by the commands that show progress, not at every start.
 */
export async function progress(format: string) {
  // The CommonJS module object (named exports of CommonJS differ between Node and the bundle).
  const { SingleBar, Presets } = (await import("cli-progress")).default;
  const bar = new SingleBar({ format, stream: process.stderr, etaBuffer: 20 }, Presets.shades_classic);
  let label: string | undefined;
  let started = false;
  return {
    update(done: number, total: number, current = ""): void {
      if (!started || label !== current) {
        if (started) bar.stop();
        bar.start(total, 0, { label: current });
        started = true;
        label = current;
      }
      bar.update(done);
    },
    stop(): void {
      if (started) bar.stop();
      started = false;
    },
  };
}
