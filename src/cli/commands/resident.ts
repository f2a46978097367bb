/** `persona-agent resident`: keeps the CLI loaded, so quick commands skip its start-up (resident-server.ts). */
import type { Command } from "commander";
import { parseNumber, validateSettings } from "../../settings.js";
import { RESIDENT_COMMANDS } from "../resident-client.js";

export function registerResident(program: Command): void {
  program
    .command("resident")
    .description(
      `keep the CLI loaded for the data directory: while it runs, ${[...RESIDENT_COMMANDS].join(", ")} started with the same build and settings run in it, with no start-up of their own`,
    )
    .option("--idle <minutes>", "stop after this many minutes without a command (default 30)", (raw) => parseNumber(raw, "--idle", { min: 0.001, integer: false }))
    .action(async (opts: { idle?: number }, command: Command) => {
      const [{ serveResident }, { resolveSettings }] = await Promise.all([import("../resident-server.js"), import("../shared.js")]);
      const settings = validateSettings(resolveSettings(command), { credentials: false });
      await serveResident(settings, { idleMs: (opts.idle ?? 30) * 60_000, log: (line) => process.stderr.write(`persona-agent: ${line}\n`) });
    });
}
