/** `persona-agent forget`: delete every record of the user. */
import type { Command } from "commander";
import { print } from "../shared.js";

export function registerForget(program: Command): void {
  program
    .command("forget")
    .description(
      "delete every record of the user (memories, profile, personas, interactions, conversation threads, indexes)",
    )
    .requiredOption("--user <id>", "user id")
    .option("--json", "print the result as JSON")
    .action(async (opts: { user: string; json?: boolean }, command: Command) => {
      const [{ forgetUser }, { withUser }] = await Promise.all([
        import("../../../src/users/forget.js"),
        import("../session.js"),
      ]);
      const { deleted, notCompacted } = await withUser(command, opts.user, {}, ({ memory }, persistence) =>
        forgetUser(persistence.store, memory, opts.user, persistence.checkpointer, persistence),
      );
      if (notCompacted) process.stderr.write(`persona-agent: warning: ${notCompacted}\n`);
      print(
        Boolean(opts.json),
        { user: opts.user, deleted, ...(notCompacted ? { notCompacted } : {}) },
        deleted > 0 ? `deleted ${deleted} records of user "${opts.user}"` : `no records of user "${opts.user}"`,
      );
    });
}
