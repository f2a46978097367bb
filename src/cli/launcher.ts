/**
 * The compiled CLI's first step (dist/cli/launcher.cjs, started from V8's code cache by
 * boot.ts): the command line is parsed with the command table alone, so `--help` and usage
 * errors end here having loaded nothing more. A command about to run is handed back to boot.ts,
 * which runs the whole CLI; it parses the same arguments again. Nothing here imports lazily:
 * every action, and every error that is not a usage error, is handed over.
 */
import { CommanderError, type Command } from "commander";
import { UserError } from "../errors.js";
import { buildProgram, reportError } from "./program.js";

/**
 * Done (help shown, or a usage error reported), or the command to run: "ask", "eval-report"; "" to
 * let the whole CLI report an error.
 */
export type Parsed = { exitCode: number } | { run: string };

const HAND_OVER = Symbol("hand over");

/** The command's names below the program: "ask", "eval-report". */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join("-");
}

export async function parse(argv: string[]): Promise<Parsed> {
  let command = "";
  const program = buildProgram().hook("preAction", (_program, action) => {
    command = commandPath(action);
    throw HAND_OVER;
  });
  try {
    await program.parseAsync(argv);
    return { exitCode: 0 };
  } catch (error) {
    if (error === HAND_OVER) return { run: command };
    if (error instanceof CommanderError || error instanceof UserError) return { exitCode: await reportError(error) };
    return { run: "" };
  }
}
