/** `persona-agent align`: test-time alignment of the user's persona now (Algorithm 1). */
import type { Command } from "commander";
import { DEFAULT_BATCH_SIZE, DEFAULT_ITERATIONS } from "../../../src/alignment/defaults.js";
import type { AlignOptions } from "../session.js";
import { intOption, print } from "../shared.js";

/** Algorithm 1's knobs, shared by `align` and `feedback`. */
export function addAlignOptions(command: Command): Command {
  return command
    .option(
      "--batch <n>",
      `latest interactions re-run per iteration (default ${DEFAULT_BATCH_SIZE})`,
      intOption("--batch", 1),
    )
    .option("--iterations <n>", `alignment iterations (default ${DEFAULT_ITERATIONS})`, intOption("--iterations", 1))
    .option(
      "--validate",
      "keep the new persona only if it matches at least as many held-out true responses (exact match) as the old one",
    );
}

export function registerAlign(program: Command): void {
  addAlignOptions(
    program
      .command("align")
      .description("run test-time alignment of the user's persona now (Algorithm 1)")
      .requiredOption("--user <id>", "user id")
      .option(
        "--json",
        'print {"user", "fromVersion", "toVersion", "iterations": [{"version", "kept", "feedback"}], "validated"?}',
      ),
  ).action(async (opts: AlignOptions & { user: string; json?: boolean }, command: Command) => {
    const [{ describeAlignment }, { align, withUser }] = await Promise.all([
      import("../../../src/alignment/run.js"),
      import("../session.js"),
    ]);
    const summary = await withUser(command, opts.user, {}, (services, persistence) =>
      align(services, persistence, opts),
    );
    print(Boolean(opts.json), summary, describeAlignment(summary));
  });
}
