/** `persona-agent ingest`: a JSONL history into the user's memory, profile and first persona. */
import { Option, type Command } from "commander";
import { PROFILE_TASKS, parseProfileTask } from "../../../src/memory/profile-tasks.js";
import { print, progress } from "../shared.js";

export function registerIngest(program: Command): void {
  program
    .command("ingest")
    .description("add a JSONL history to the user's memory, (re)build the profile, initialize the persona if none")
    .requiredOption("--user <id>", "user id")
    .requiredOption("--file <path>", 'JSONL file, one {"query", "response", "timestamp"?, "metadata"?} per line')
    .addOption(
      new Option("--task <task>", "which profile summarization prompt to use")
        .choices(PROFILE_TASKS)
        .default("general"),
    )
    .option("--json", "print the result as JSON")
    .action(async (opts: { user: string; file: string; task: string; json?: boolean }, command: Command) => {
      const task = parseProfileTask(opts.task);
      const [{ readHistoryFile }, { ingestHistory }, { withUser }] = await Promise.all([
        import("../../../src/memory/history.js"),
        import("../../../src/memory/ingest.js"),
        import("../session.js"),
      ]);
      const entries = await readHistoryFile(opts.file);
      const bar = await progress("embedding {bar} {value}/{total} entries | ETA {eta_formatted}");
      const result = await withUser(command, opts.user, {}, (services) =>
        ingestHistory(services, opts.user, entries, {
          task,
          onProgress: (done, total) => bar.update(done, total),
        }).finally(() => bar.stop()),
      );
      print(
        Boolean(opts.json),
        { user: opts.user, ...result },
        `${result.added} new entries (${result.skipped} already known); profile ${result.profileUpdated ? "updated" : "unchanged"}; ` +
          `persona v${result.personaVersion}${result.personaCreated ? " created" : ""}`,
      );
    });
}
