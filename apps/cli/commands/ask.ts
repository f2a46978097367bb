/** `persona-agent ask`: one turn of the user's persona agent (the persona_agent graph). */
import type { Command } from "commander";
import type { Configuration } from "../../../src/configuration/configuration.js";
import { intOption, print } from "../shared.js";

export function registerAsk(program: Command): void {
  program
    .command("ask")
    .description("ask the user's persona agent a question")
    .requiredOption("--user <id>", "user id")
    .option("--k <n>", "memories per retrieval (env PERSONA_AGENT_K, default 4)", intOption("--k", 1))
    .option(
      "--max-tool-steps <n>",
      "tool-calling turns before the agent must answer (default 4)",
      intOption("--max-tool-steps", 0),
    )
    .option("--thread <id>", "continue this earlier conversation of the user (its turns are kept); default: a new one")
    .option("--new-thread", "with --thread: start a conversation under that id instead of refusing an unknown one")
    .option(
      "--json",
      'print {"answer", "personaVersion", "toolCalls": [{"name", "args", "error"?}], "thread"}; otherwise the answer on stdout, the thread id and any tool failure on stderr',
    )
    .argument("<query>", "the question")
    .action(
      async (
        query: string,
        opts: { user: string; k?: number; maxToolSteps?: number; thread?: string; newThread?: boolean; json?: boolean },
        command: Command,
      ) => {
        const [
          { validateQuery },
          { builder: personaAgentBuilder },
          { askWithThread },
          { withUser },
          { turnToolCalls },
          { staleProfileWarning },
        ] = await Promise.all([
          import("../../../src/agent/nodes.js"),
          import("../../../graphs/persona_agent.js"),
          import("../../../src/agent/conversation.js"),
          import("../session.js"),
          import("../tool-calls.js"),
          import("../../../src/memory/stale.js"),
        ]);
        validateQuery(query);
        const overrides: Partial<Configuration> = {
          ...(opts.k !== undefined ? { k: opts.k } : {}),
          ...(opts.maxToolSteps !== undefined ? { maxToolSteps: opts.maxToolSteps } : {}),
        };
        const { stale, ...result } = await withUser(command, opts.user, overrides, async (services, persistence) => ({
          ...(await askWithThread(
            services,
            persistence,
            (checkpointer) => personaAgentBuilder.compile({ store: persistence.store, checkpointer }),
            query,
            {
              thread: opts.thread,
              newThread: opts.newThread,
            },
          )),
          stale: await staleProfileWarning(persistence.store, opts.user),
        }));
        if (stale) process.stderr.write(`persona-agent: ${stale}\n`);
        const { thread } = result;
        const toolCalls = turnToolCalls(result.messages);
        if (!opts.json) {
          process.stderr.write(`persona-agent: thread ${thread} (continue it with --thread ${thread})\n`);
          const failed = toolCalls.filter((c) => c.error !== undefined);
          if (failed.length > 0)
            process.stderr.write(
              `persona-agent: warning: ${failed.map((c) => `${c.name}: ${c.error!.replace(/\s*\n\s*/g, " ")}`).join("; ")}\n`,
            );
        }
        print(
          Boolean(opts.json),
          { answer: result.answer, personaVersion: result.personaVersion, toolCalls, thread },
          result.answer,
        );
      },
    );
}
