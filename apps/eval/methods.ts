/**
 * The methods of the paper's Table 2 and the ablations of Table 3 (docs/EVAL.md "Methods" cites
 * the sentence each follows). A method prepares once per user (memory, profile, persona,
 * alignment) and then answers that user's test queries one by one. The user's memory is their
 * profile as task-shaped interactions (apps/eval/data/lamp.ts); test queries never enter it.
 */
import type { BaseStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { join } from "node:path";
import { builder as personaAgentBuilder } from "../../graphs/persona_agent.js";
import { builder as alignmentBuilder } from "../../graphs/alignment.js";
import { loadPrompt, renderPrompt } from "../../src/prompts/prompts.js";
import type { Configuration } from "../../src/configuration/configuration.js";
import { servicesFor, type Services } from "../../src/services/services.js";
import { questionInput, retrievalQuery, taskPrompt, type LampTask } from "./data/lamp.js";
import type { UserQuery } from "./data/oppu.js";
import type { HistoryEntry } from "../../src/memory/history.js";
import { ingestHistory } from "../../src/memory/ingest.js";
import { EmbeddingCache } from "../../src/memory/embedding-cache.js";
import { entryText, unitVector } from "../../src/memory/episodic.js";
import { initialPersona } from "../../src/persona/persona.js";
import { createEmbeddings } from "../../src/models/embeddings.js";
import { userFileKey } from "../../src/users/users.js";
import { memoryBankRetrieve } from "./membank.js";
import { BM25Okapi } from "./bm25.js";

import type { MethodName } from "./method-names.js";

export { ABLATIONS, BASELINES, METHODS, parseMethod, type MethodName } from "./method-names.js";

/** Demonstrations shown by `icl` (other users' interactions, never the user's own). */
export const ICL_SHOTS = 3;
/** Characters of a query or response shown in a prompt (LaMP truncates per item too). */
const FIELD_CHARS = 2000;

export interface MethodParams {
  /** Memories per retrieval for the agents and `no-action` (the paper's K). */
  k: number;
  /** Alignment batch: the user's latest n profile items (the paper's n). */
  batch: number;
  /** Alignment iterations (the paper's E). */
  iterations: number;
}

/** Test-time alignment: rewrites the user's stored persona from their latest `batch` interactions. */
export type Aligner = (args: {
  store: BaseStore;
  configurable: Partial<Configuration>;
  batch: number;
  iterations: number;
}) => Promise<void>;

/** One user as the methods see them: the profile as task-shaped interactions, oldest first. */
export interface MethodUser {
  interactions: HistoryEntry[];
  /** Task-shaped interactions of other persons for one query, for `icl` (docs/EVAL.md says whose). */
  demonstrations: (query: UserQuery) => Promise<HistoryEntry[]>;
}

export interface MethodContext {
  task: LampTask;
  store: BaseStore;
  /** Run configuration with this user's id (never a real user's: see runner.ts). */
  configurable: Partial<Configuration>;
  params: MethodParams;
  aligner: Aligner;
}

export interface MethodResult {
  answer: string;
  /** The final persona, for personas' similarity across users. */
  persona?: string;
}

/** Answers one test query of the user a method was prepared for. */
export type Answerer = (query: UserQuery) => Promise<MethodResult>;
type Method = (ctx: MethodContext, user: MethodUser, services: Services) => Promise<Answerer>;

const clip = (text: string) => (text.length <= FIELD_CHARS ? text : `${text.slice(0, FIELD_CHARS - 1)}…`);

/**
 * Interactions shown as context (RAG, PAG, ICL, MemoryBank, w/o Action's memories): each as its
 * OPPU record (`metadata.content`: the item and the answer, as OPPU puts retrieved history before
 * the question) where it has one, else its query and response (`prompts/lamp/example.md`).
 */
export async function examplesContext(
  entries: Pick<HistoryEntry, "query" | "response" | "metadata">[],
  header = "lamp/context_examples",
): Promise<string> {
  if (entries.length === 0) return "";
  const line = (e: (typeof entries)[number]) => {
    const content = e.metadata?.content;
    return typeof content === "string"
      ? Promise.resolve(`- ${clip(content)}`)
      : renderPrompt("lamp/example", { query: clip(e.query), response: clip(e.response) });
  };
  const lines = await Promise.all(entries.map(line));
  return `${await renderPrompt(header, { examples: lines.join("\n") })}\n\n`;
}

async function askModel(services: Services, prompt: string): Promise<string> {
  const reply = await (await services.chatModel()).invoke([new HumanMessage(prompt)]);
  return reply.text;
}

/** Runs the persona_agent graph; the persona comes from the store unless one is given. */
async function runAgent(
  ctx: MethodContext,
  prompt: string,
  options: { persona?: string; configurable?: Partial<Configuration> } = {},
): Promise<string> {
  const graph = personaAgentBuilder.compile({ store: ctx.store });
  const input = { messages: [new HumanMessage(prompt)], ...(options.persona ? { persona: options.persona } : {}) };
  const state = await graph.invoke(input, { configurable: { ...ctx.configurable, ...options.configurable } });
  return state.answer ?? "";
}

/**
 * The RAG baselines' retriever as OPPU runs it: rank_bm25's BM25Okapi (bm25.ts) over the profile
 * items' documents (OPPU's per-task template, `metadata.document`), queried with OPPU's query
 * template around what the test question asks about; both split on single spaces, case kept.
 * Built once per user.
 */
function bm25Over(task: LampTask, entries: HistoryEntry[], k: number): (question: string) => Promise<HistoryEntry[]> {
  if (entries.length === 0) return async () => [];
  const bm25 = new BM25Okapi(entries.map((e) => String(e.metadata?.document ?? e.query).split(" ")));
  return async (question) => bm25.topN((await retrievalQuery(task, question)).split(" "), k).map((i) => entries[i]!);
}

async function currentPersona(services: Services): Promise<string | undefined> {
  return (await services.personas.current(services.config.userId))?.persona;
}

const userId = (services: Services) => services.config.userId;

/** Non-agent methods: a prompt with some context, one LLM call per query. */
const withContext =
  (
    context: (
      ctx: MethodContext,
      user: MethodUser,
      services: Services,
    ) => Promise<(query: UserQuery) => Promise<string>>,
  ): Method =>
  async (ctx, user, services) => {
    const contextFor = await context(ctx, user, services);
    return async (query) => ({
      answer: await askModel(services, await taskPrompt(ctx.task, query.input, await contextFor(query))),
    });
  };

const rag = (k: number): Method =>
  withContext(async (ctx, user) => {
    const retrieve = bm25Over(ctx.task, user.interactions, k);
    return async (query) => examplesContext(await retrieve(query.input));
  });

/** The ReAct agent's reply ends with "Final Answer: ..."; the answer is what follows it. */
function finalAnswer(reply: string): string {
  const at = reply.lastIndexOf("Final Answer:");
  return at === -1 ? reply : reply.slice(at + "Final Answer:".length).trim();
}

interface AgentParts {
  memory: boolean;
  persona: boolean;
  align: boolean;
  action: boolean;
}

/**
 * PersonaAgent and the ablations, each removing one component (docs/EVAL.md): memory (episodic
 * memory and the profile summary), persona (the system prompt alignment optimizes), alignment,
 * action (tools, in the answer and in alignment's replays).
 */
export const PERSONA_AGENTS: Partial<Record<MethodName, AgentParts>> = {
  "persona-agent": { memory: true, persona: true, align: true, action: true },
  "persona-agent-no-alignment": { memory: true, persona: true, align: false, action: true },
  "persona-agent-no-persona": { memory: true, persona: false, align: false, action: true },
  "persona-agent-no-memory": { memory: false, persona: true, align: true, action: true },
  "persona-agent-no-action": { memory: true, persona: true, align: true, action: false },
};

const personaAgent =
  (parts: AgentParts): Method =>
  async (ctx, user, services) => {
    const id = userId(services);
    // The user's interactions are stored in every variant: alignment replays them (Algorithm 1's D).
    if (parts.persona && parts.memory) await ingestHistory(services, id, user.interactions, { task: ctx.task });
    else await services.memory.add(id, user.interactions);
    if (parts.persona && !parts.memory)
      await services.personas.save(
        id,
        await initialPersona(loadPrompt("lamp/no_profile"), services.config.promptSet),
        "initialized",
      );
    // No action: no tools anywhere, alignment's replays included. No memory: no memory tool
    // anywhere either, so neither the answers nor alignment's replays retrieve anything.
    const agentConfig: Partial<Configuration> = {
      ...(parts.action ? {} : { maxToolSteps: 0 }),
      ...(parts.memory ? {} : { memoryTool: false }),
    };
    if (parts.align)
      await ctx.aligner({
        store: ctx.store,
        configurable: { ...ctx.configurable, ...agentConfig },
        batch: ctx.params.batch,
        iterations: ctx.params.iterations,
      });
    const persona = parts.persona ? await currentPersona(services) : loadPrompt("lamp/no_persona");
    return async (query) => {
      // Without actions the agent gets no tools, so its memories come in the prompt instead.
      const context =
        parts.action || !parts.memory
          ? ""
          : await examplesContext(
              await services.memory.retrieve(id, questionInput(ctx.task, query.input), ctx.params.k),
            );
      const answer = await runAgent(ctx, await taskPrompt(ctx.task, query.input, context), {
        persona,
        configurable: agentConfig,
      });
      return { answer, ...(parts.persona ? { persona } : {}) };
    };
  };

/** The entry vectors the user's episodic memory computed (from the per-user embedding cache when there is one). */
async function entryVectors(services: Services, texts: string[]) {
  const embeddings = await createEmbeddings(services.config.embeddings, services.config);
  const { indexDir, embeddings: modelId } = services.config;
  if (!indexDir) return { embeddings, vectors: await embeddings.embedDocuments(texts) };
  const cache = await EmbeddingCache.open(join(indexDir, userFileKey(userId(services))), modelId);
  return { embeddings, vectors: (await cache.embed(texts, embeddings)).vectors };
}

const METHOD_IMPL: Record<MethodName, Method> = {
  prompt: withContext(async () => async () => ""),
  // Non-personalized: the same kind of question answered by other persons, drawn for each query.
  icl: withContext(
    async (_ctx, user) => async (query) =>
      examplesContext(await user.demonstrations(query), "lamp/context_demonstrations"),
  ),
  "rag-1": rag(1),
  "rag-4": rag(4),
  // PAG: the LLM-written profile summary (semantic memory) + RAG-4's retrieved items.
  "pag-4": withContext(async (ctx, user, services) => {
    await ingestHistory(services, userId(services), user.interactions, { task: ctx.task });
    const profile = (await services.semantic.get(userId(services)))!.text;
    const profileContext = `${await renderPrompt("lamp/context_profile", { profile })}\n\n`;
    const retrieve = bm25Over(ctx.task, user.interactions, 4);
    return async (query) => profileContext + (await examplesContext(await retrieve(query.input)));
  }),
  // A general tool agent in the ReAct style (Yao et al.): the same tools, no persona, ReAct instructions.
  react: async (ctx, user, services) => {
    await services.memory.add(userId(services), user.interactions);
    const persona = loadPrompt("lamp/react_agent");
    return async (query) => ({
      answer: finalAnswer(await runAgent(ctx, await taskPrompt(ctx.task, query.input), { persona })),
    });
  },
  membank: withContext(async (ctx, user, services) => {
    await services.memory.add(userId(services), user.interactions);
    const entries = await services.memory.list(userId(services));
    const { embeddings, vectors } = await entryVectors(services, entries.map(entryText));
    const unitVectors = vectors.map(unitVector);
    return async (query) => {
      const picked = memoryBankRetrieve(
        unitVectors,
        unitVector(await embeddings.embedQuery(questionInput(ctx.task, query.input))),
        4,
      ).map((i) => entries[i]!);
      return examplesContext(picked);
    };
  }),
  "persona-agent": personaAgent(PERSONA_AGENTS["persona-agent"]!),
  "persona-agent-no-alignment": personaAgent(PERSONA_AGENTS["persona-agent-no-alignment"]!),
  "persona-agent-no-persona": personaAgent(PERSONA_AGENTS["persona-agent-no-persona"]!),
  "persona-agent-no-memory": personaAgent(PERSONA_AGENTS["persona-agent-no-memory"]!),
  "persona-agent-no-action": personaAgent(PERSONA_AGENTS["persona-agent-no-action"]!),
};

/** Methods that align the persona on the user's interactions: a person with none cannot run them (the runner skips them). */
export function needsAlignment(method: MethodName): boolean {
  return PERSONA_AGENTS[method]?.align === true;
}

/** Prepares `method` for one user (memory, persona, alignment); the answerer then takes their queries. */
export async function prepareMethod(method: MethodName, ctx: MethodContext, user: MethodUser): Promise<Answerer> {
  return METHOD_IMPL[method](ctx, user, servicesFor({ configurable: ctx.configurable, store: ctx.store }));
}

/** Test-time alignment with the alignment graph (Algorithm 1): the user's latest `batch` items, `iterations` rounds. */
export const graphAligner: Aligner = async ({ store, configurable, batch, iterations }) => {
  const graph = alignmentBuilder.compile({ store });
  await graph.invoke(
    { userId: configurable.userId },
    { configurable: { ...configurable, batchSize: batch, iterations } },
  );
};
