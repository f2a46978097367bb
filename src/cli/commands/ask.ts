/** `persona-agent ask`: one turn of the user's persona agent (the persona_agent graph). */
import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import type { Configuration } from "../../configuration.js";
import { intOption, print } from "../shared.js";

export function registerAsk(program: Command): void {
  program
    .command("ask")
    .description("ask the user's persona agent a question")
    .requiredOption("--user <id>", "user id")
    .option("--k <n>", "memories per retrieval (env PERSONA_AGENT_K, default 4)", intOption("--k", 1))
    .option("--max-tool-steps <n>", "tool-calling turns before the agent must answer (default 4)", intOption("--max-tool-steps", 0))
    .option("--thread <id>", "continue this conversation (its earlier turns are kept); default: a new one")
    .option("--json", 'print {"answer", "personaVersion", "toolCalls", "thread"}')
    .argument("<query>", "the question")
    .action(async (query: string, opts: { user: string; k?: number; maxToolSteps?: number; thread?: string; json?: boolean }, command: Command) => {
      const [{ validateQuery }, { HumanMessage }, { builder: personaAgentBuilder }, { userFileKey, userNamespace }, { withUser }] = await Promise.all([
        import("../../agent/nodes.js"),
        import("@langchain/core/messages"),
        import("../../../graphs/persona_agent.js"),
        import("../../users.js"),
        import("../session.js"),
      ]);
      validateQuery(query);
      const overrides: Partial<Configuration> = {
        ...(opts.k !== undefined ? { k: opts.k } : {}),
        ...(opts.maxToolSteps !== undefined ? { maxToolSteps: opts.maxToolSteps } : {}),
      };
      const thread = opts.thread ?? randomUUID();
      const result = await withUser(command, opts.user, overrides, async (services, { store, checkpointer }) => {
        // Thread ids are scoped to the user, so no one can continue another user's conversation;
        // registering them lets `forget` delete the checkpoints too.
        // An unknown user is refused before anything is written (the graph would refuse it too).
        if (!(await services.personas.current(opts.user))) {
          throw new UserError(`unknown user "${opts.user}": ingest a history first (persona-agent ingest --user ... --file ...)`);
        }
        const threadId = `${userFileKey(opts.user)}:${thread}`;
        await store.put(userNamespace(opts.user, "threads"), threadId, { thread, createdAt: new Date().toISOString() });
        const graph = personaAgentBuilder.compile({ store, checkpointer });
        return graph.invoke({ messages: [new HumanMessage(query)] }, { configurable: { ...services.config, thread_id: threadId } });
      });
      print(
        Boolean(opts.json),
        { answer: result.answer, personaVersion: result.personaVersion, toolCalls: result.toolCalls, thread },
        result.answer,
      );
    });
}
