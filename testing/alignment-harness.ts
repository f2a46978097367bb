/** Shared setup for alignment tests: a user with a 4-interaction history and a role-aware script. */
import { InMemoryStore, type BaseStore } from "@langchain/langgraph";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { builder } from "../graphs/alignment.js";
import { EpisodicMemory } from "../src/memory/episodic.js";
import { SemanticMemory } from "../src/memory/semantic.js";
import { PersonaStore } from "../src/persona/persona.js";
import { ingestHistory } from "../src/memory/ingest.js";
import { episodicMemoryFor } from "../src/services/services.js";
import { ScriptedChatModel } from "./scripted-model.js";
import { ALICE_HISTORY } from "./fixtures.js";
import { parseAlignmentPrompt } from "./alignment-prompts.js";
import type { PromptSet } from "../src/configuration/settings.js";

export const EMB = "local:universal-sentence-encoder";
export const UNREACHABLE_WIKI = "http://127.0.0.1:9/w/api.php";

export type Role = "agent" | "grad" | "update" | "other";

/** Which step a model call belongs to, from what it was sent (LLM_grad/LLM_update of either prompt set). */
export function roleOf(messages: BaseMessage[]): Role {
  if (SystemMessage.isInstance(messages[0])) return "agent";
  return parseAlignmentPrompt(messages.at(-1)?.text ?? "")?.step ?? "other";
}

/** The values filled into an LLM_grad or LLM_update prompt (`question`, `truth`, `response`, `persona`, `feedback`, ...). */
export function filled(messages: BaseMessage[]): Record<string, string> {
  const parsed = parseAlignmentPrompt(messages.at(-1)?.text ?? "");
  if (!parsed) throw new Error(`not an alignment prompt: ${messages.at(-1)?.text.slice(0, 80)}`);
  return parsed.values;
}

export interface Handlers {
  /** The agent's final answer, given the persona (system prompt) and the question. */
  agent?: (persona: string, question: string) => string;
  grad?: (messages: BaseMessage[]) => string | Promise<string>;
  update?: (messages: BaseMessage[]) => string | Promise<string>;
}

/** Agent: first turn retrieves memories with the question, second answers. */
export function scriptedModel(handlers: Handlers, delayMs = 0): ScriptedChatModel {
  return new ScriptedChatModel(
    async (messages) => {
      switch (roleOf(messages)) {
        case "agent": {
          const question = messages.findLast((m) => HumanMessage.isInstance(m))!.text;
          if (!messages.some((m) => ToolMessage.isInstance(m))) {
            return new AIMessage({
              content: "",
              tool_calls: [{ id: `mem_${question.length}`, name: "memory_retrieval", args: { query: question } }],
            });
          }
          return (handlers.agent ?? (() => "simulated"))(messages[0]!.text, question);
        }
        case "grad":
          return (handlers.grad ?? ((m) => `FEEDBACK for ${filled(m).question}`))(messages);
        case "update":
          return (handlers.update ?? (() => "NEW PERSONA v-next"))(messages);
        default:
          throw new Error("unexpected model call");
      }
    },
    { delayMs },
  );
}

export async function aliceStore(
  store: BaseStore = new InMemoryStore(),
  promptSet: PromptSet = "paper",
): Promise<BaseStore> {
  // The same EpisodicMemory the graph's services will use (cached per store), so the index is built once.
  const memory: EpisodicMemory = episodicMemoryFor(store, {
    embeddings: EMB,
    indexDir: undefined,
    timeoutMs: 60_000,
    maxRetries: 0,
  });
  await ingestHistory(
    {
      memory,
      semantic: new SemanticMemory(store),
      personas: new PersonaStore(store, promptSet),
      chatModel: async () => new ScriptedChatModel(() => "ALICE PROFILE"),
    },
    "alice",
    ALICE_HISTORY,
    { task: "lamp-2m" },
  );
  return store;
}

/** A run's settings for alice on `model`: local embeddings, no index on disk, Wikipedia unreachable, no retries; `extra` on top. */
export function aliceConfigurable(model: ScriptedChatModel | string, extra: Record<string, unknown> = {}) {
  return {
    userId: "alice",
    model,
    embeddings: EMB,
    indexDir: undefined,
    wikipediaBaseUrl: UNREACHABLE_WIKI,
    maxRetries: 0,
    ...extra,
  };
}

/** Runs the alignment graph for alice; resolves to its output, the run's summary. */
export async function align(
  store: BaseStore,
  model: ScriptedChatModel | string,
  configurable: Record<string, unknown> = {},
) {
  const output = await builder.compile({ store }).invoke({}, { configurable: aliceConfigurable(model, configurable) });
  return output.alignment!;
}
