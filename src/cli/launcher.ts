/**
 * Entry of the compiled CLI (scripts/build.mjs bundles it as dist/cli/persona-agent.js, which
 * bin/ runs). The command line is parsed with the command table alone, so `--help` and usage
 * errors load nothing more; a command about to run goes to the whole CLI, one CommonJS bundle
 * (dist/cli/all.cjs) started from V8's code cache (code-cache.ts), which parses the same
 * arguments again and runs it. Commands that load no LangChain run here, from their own small
 * chunks: less to read than the whole CLI's cache. In a source checkout bin/ runs main.ts
 * through tsx instead.
 */
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { codeCacheDir } from "../settings.js";
import { buildProgram, reportError } from "./program.js";

const HAND_OVER = Symbol("hand over to the whole CLI");
/** Commands that run here (tests/cli/bundle.test.ts checks that they load no LangChain). */
const LIGHT_COMMANDS = new Set(["persona"]);

/** The command's names below the program: "ask", "eval-report". */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join("-");
}

export async function launch(argv = process.argv): Promise<number> {
  let command = "";
  const program = buildProgram().hook("preAction", (_program, action) => {
    command = commandPath(action);
    if (!LIGHT_COMMANDS.has(command)) throw HAND_OVER;
  });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error !== HAND_OVER) return reportError(error);
  }
  // Only now: --help and the light commands never load node:vm and the bundle loader.
  const { loadBundle } = await import("./code-cache.js");
  const all = loadBundle(fileURLToPath(new URL("./all.cjs", import.meta.url)), { cacheDir: codeCacheDir(), command, hostImport: (specifier) => import(specifier) });
  return (all as { main(argv: string[]): Promise<number> }).main(argv);
}

process.exitCode = await launch();
