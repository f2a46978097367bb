/**
 * The agent's personalized actions: general knowledge (Wikipedia) and the user's own
 * episodic memory. Tools close over one user's id, so the model cannot ask for anyone
 * else's data whatever it writes in the arguments.
 */
import { ToolMessage } from "@langchain/core/messages";
import { tool, type StructuredToolInterface, type ToolRunnableConfig } from "@langchain/core/tools";
import { WikipediaQueryRun } from "@langchain/community/tools/wikipedia_query_run";
import { z } from "zod";
import { setPrompt } from "../prompts/prompts.js";
import type { PromptSet } from "../configuration/settings.js";
import type { EpisodicMemory, RetrievedMemory } from "../memory/episodic.js";

export const WIKIPEDIA_TOOL = "wikipedia_search";
export const MEMORY_TOOL = "memory_retrieval";

/** A tool query longer than this is cut: tools need keywords, not documents. */
const MAX_TOOL_QUERY_CHARS = 1_000;
const MEMORY_FIELD_CHARS = 1_500;

const querySchema = z.object({
  query: z.string().describe("A short search query."),
});

function cleanQuery(query: string): string {
  return query.trim().slice(0, MAX_TOOL_QUERY_CHARS);
}

/**
 * A tool that failed still answers the model (it can go on without the tool), but as a
 * ToolMessage with status "error", so callers (`ask --json`'s toolCalls[].error) see the failure.
 * Called directly, outside a tool call, the tool returns the text alone.
 */
function failure(text: string, name: string, config: ToolRunnableConfig): string | ToolMessage {
  const id = config.toolCall?.id;
  return id ? new ToolMessage({ content: text, tool_call_id: id, name, status: "error" }) : text;
}

function reason(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string } };
  return [e?.message ?? String(error), e?.cause?.code].filter(Boolean).join(" ");
}

/** All memories of one retrieval together: however large k is, the tool result fits the model's context. */
export const MEMORY_BUDGET_CHARS = 12_000;

export function formatMemories(memories: RetrievedMemory[], budget = MEMORY_BUDGET_CHARS): string {
  if (memories.length === 0) return "No past interactions of this user match the query.";
  const blocks: string[] = [];
  let used = 0;
  for (const [i, m] of memories.entries()) {
    // An entry stored without a date shows none (its timestamp is when it was added, not when it happened).
    const date = m.undated ? "" : `(${m.timestamp.slice(0, 10)}) `;
    const block = `[${i + 1}] ${date}Query: ${m.query.slice(0, MEMORY_FIELD_CHARS)}\n    User's response: ${m.response.slice(0, MEMORY_FIELD_CHARS)}`;
    // The most similar memories come first; the first always fits (its fields are clipped).
    if (blocks.length > 0 && used + block.length > budget) break;
    blocks.push(block);
    used += block.length + 1;
  }
  const left = memories.length - blocks.length;
  return blocks.join("\n") + (left > 0 ? `\n(${left} less similar memories left out to fit the context)` : "");
}

/** WikipediaQueryRun's fetch has no timeout of its own; a hung server must not hang the agent. */
function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface ToolContext {
  userId: string;
  timeoutMs: number;
  memory: EpisodicMemory;
  k: number;
  wikipediaBaseUrl: string;
  /** Episodic entries the memory tool must not return (see EpisodicMemory.retrieve). */
  excludeIds?: readonly string[];
  /** Whose tool descriptions the model sees (the paper's Appendix C, or the tuned ones). */
  promptSet: PromptSet;
  /** Offer the memory tool (default); the w/o Memory ablation has Wikipedia alone. */
  memoryTool?: boolean;
}

export function initializeTools(ctx: ToolContext): StructuredToolInterface[] {
  const wikipedia = new WikipediaQueryRun({
    topKResults: 2,
    maxDocContentLength: 2_000,
    baseUrl: ctx.wikipediaBaseUrl,
  });

  const wikipediaSearch = tool(
    async ({ query }, config: ToolRunnableConfig) => {
      const q = cleanQuery(query);
      if (!q) return "Wikipedia search needs a non-empty query.";
      try {
        return await withTimeout(wikipedia.invoke(q), ctx.timeoutMs, "no answer in time");
      } catch (error) {
        // The agent can still answer from memory: report, do not crash the run.
        return failure(`Wikipedia search failed (${reason(error)}). Answer without it.`, WIKIPEDIA_TOOL, config);
      }
    },
    { name: WIKIPEDIA_TOOL, description: setPrompt(ctx.promptSet, "tools/wikipedia_search"), schema: querySchema },
  );

  const memoryRetrieval = tool(
    async ({ query }, config: ToolRunnableConfig): Promise<[string | ToolMessage, RetrievedMemory[]]> => {
      const q = cleanQuery(query);
      if (!q) return ["Memory retrieval needs a non-empty query.", []];
      try {
        const memories = await ctx.memory.retrieve(ctx.userId, q, ctx.k, { excludeIds: ctx.excludeIds });
        return [formatMemories(memories), memories];
      } catch (error) {
        return [failure(`Memory retrieval failed (${reason(error)}).`, MEMORY_TOOL, config), []];
      }
    },
    {
      name: MEMORY_TOOL,
      description: setPrompt(ctx.promptSet, "tools/memory_retrieval"),
      schema: querySchema,
      responseFormat: "content_and_artifact",
    },
  );

  return ctx.memoryTool === false ? [wikipediaSearch] : [wikipediaSearch, memoryRetrieval];
}
