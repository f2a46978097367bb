/** Pieces every command uses: settings with the global options applied, output, progress. */
import type { Command } from "commander";
import { parseNumber, settingsFromEnv, type PromptSet, type Settings } from "../settings.js";

/** Settings from the environment, overridden by the global options. */
export function resolveSettings(command: Command): Settings {
  const options = command.optsWithGlobals<{ model?: string; embeddings?: string; dataDir?: string; databaseUrl?: string; prompts?: PromptSet }>();
  const settings = settingsFromEnv();
  return {
    ...settings,
    model: options.model ?? settings.model,
    embeddings: options.embeddings ?? settings.embeddings,
    dataDir: options.dataDir ?? settings.dataDir,
    databaseUrl: options.databaseUrl ?? settings.databaseUrl,
    promptSet: options.prompts ?? settings.promptSet,
  };
}

export const intOption = (name: string, min: number) => (raw: string) => parseNumber(raw, name, { min, integer: true });

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
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
