/**
 * The methods of the paper's Table 2 and the ablations of Table 3 (docs/EVAL.md "Methods" cites
 * the sentence each follows). A method prepares once per user (memory, profile, persona,
 * alignment) and then answers that user's test queries one by one. The user's memory is their
 * profile as task-shaped interactions (src/data/lamp.ts); test queries never enter it.
 */
import type { BaseStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { Document } from "@langchain/core/documents";
import { BM25Retriever } from "@langchain/community/retrievers/bm25";
import { join } from "node:path";
import { builder as personaAgentBuilder } from "../../graphs/persona_agent.js";
import { builder as alignmentBuilder } from "../../graphs/alignment.js";
import { loadPrompt, renderPrompt } from "../prompts.js";
import type { Configuration } from "../configuration.js";
import { servicesFor, type Services } from "../services.js";
import { LAMP_LABELS, questionInput, type LampTask } from "../data/lamp.js";
import type { UserQuery } from "../data/oppu.js";
import type { HistoryEntry } from "../memory/history.js";
import { ingestHistory } from "../memory/ingest.js";
import { EmbeddingCache } from "../memory/embedding-cache.js";
import { unitVector } from "../memory/episodic.js";
import { initialPersona } from "../persona/persona.js";
import { createEmbeddings } from "../models/embeddings.js";
import { userFileKey } from "../users.js";
import { memoryBankRetrieve } from "./membank.js";

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
export type Aligner = (args: { store: BaseStore; configurable: Partial<Configuration>; batch: number; iterations: number }) => Promise<void>;

/** One user as the methods see them: the profile as task-shaped interactions, oldest first. */
export interface MethodUser {
  interactions: HistoryEntry[];
  /** Task-shaped interactions of other people, for `icl` (docs/EVAL.md says whose). */
  demonstrations: HistoryEntry[];
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

async function examplesContext(entries: Pick<HistoryEntry, "query" | "response">[], header = "lamp/context_examples"): Promise<string> {
  if (entries.length === 0) return "";
  const lines = await Promise.all(entries.map((e) => renderPrompt("lamp/example", { query: clip(e.query), response: clip(e.response) })));
  return `${await renderPrompt(header, { examples: lines.join("\n") })}\n\n`;
}

export async function taskPrompt(task: LampTask, question: string, context = ""): Promise<string> {
  return renderPrompt(`lamp/${task}`, { context, question, labels: (LAMP_LABELS[task] ?? []).join(", ") });
}

async function askModel(services: Services, prompt: string): Promise<string> {
  const reply = await (await services.chatModel()).invoke([new HumanMessage(prompt)]);
  return reply.text;
}

/** Runs the persona_agent graph; the persona comes from the store unless one is given. */
async function runAgent(ctx: MethodContext, prompt: string, options: { persona?: string; configurable?: Partial<Configuration> } = {}): Promise<string> {
  const graph = personaAgentBuilder.compile({ store: ctx.store });
  const input = { messages: [new HumanMessage(prompt)], ...(options.persona ? { persona: options.persona } : {}) };
  const state = await graph.invoke(input, { configurable: { ...ctx.configurable, ...options.configurable } });
  return state.answer ?? "";
}

/**
 * LaMP's sparse retriever (BM25 over each profile item's task input, queried with the test
 * question's task input), with LangChain's BM25Retriever. Built once per user.
 */
function bm25Over(task: LampTask, entries: HistoryEntry[], k: number): (question: string) => Promise<HistoryEntry[]> {
  const docs = entries.map((e, i) => new Document({ pageContent: String(e.metadata?.input ?? e.query), metadata: { i } }));
  const retriever = BM25Retriever.fromDocuments(docs, { k });
  return async (question) => (entries.length === 0 ? [] : (await retriever.invoke(questionInput(task, question))).map((d) => entries[d.metadata.i as number]!));
}

async function currentPersona(services: Services): Promise<string | undefined> {
  return (await services.personas.current(services.config.userId))?.persona;
}

const userId = (services: Services) => services.config.userId;

/** Non-agent methods: a prompt with some context, one LLM call per query. */
const withContext =
  (context: (ctx: MethodContext, user: MethodUser, services: Services) => Promise<(query: UserQuery) => Promise<string>>): Method =>
  async (ctx, user, services) => {
    const contextFor = await context(ctx, user, services);
    return async (query) => ({ answer: await askModel(services, await taskPrompt(ctx.task, query.input, await contextFor(query))) });
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

/**
 * PersonaAgent and the ablations, each removing one component (docs/EVAL.md): memory (episodic
 * memory and the profile summary), persona (the system prompt alignment optimizes), alignment,
 * action (tools, in the answer and in alignment's replays).
 */
const personaAgent =
  (parts: { memory: boolean; persona: boolean; align: boolean; action: boolean }): Method =>
  async (ctx, user, services) => {
    const id = userId(services);
    // The user's interactions are stored in every variant: alignment replays them (Algorithm 1's D).
    if (parts.persona && parts.memory) await ingestHistory(services, id, user.interactions, { task: ctx.task });
    else await services.memory.add(id, user.interactions);
    if (parts.persona && !parts.memory) await services.personas.save(id, await initialPersona(loadPrompt("lamp/no_profile"), services.config.promptSet), "initialized");
    // No action: no tools anywhere, alignment's replays included.
    const noTools: Partial<Configuration> = parts.action ? {} : { maxToolSteps: 0 };
    // No memory: the agent's memory tool finds nothing of the user.
    const stored = parts.memory ? [] : (await services.memory.list(id)).map((e) => e.id);
    const agentConfig: Partial<Configuration> = { ...noTools, ...(stored.length > 0 ? { excludeIds: stored } : {}) };
    if (parts.align) await ctx.aligner({ store: ctx.store, configurable: { ...ctx.configurable, ...noTools }, batch: ctx.params.batch, iterations: ctx.params.iterations });
    const persona = parts.persona ? await currentPersona(services) : loadPrompt("lamp/no_persona");
    return async (query) => {
      // Without actions the agent gets no tools, so its memories come in the prompt instead.
      const context = parts.action || !parts.memory ? "" : await examplesContext(await services.memory.retrieve(id, query.input, ctx.params.k));
      const answer = await runAgent(ctx, await taskPrompt(ctx.task, query.input, context), { persona, configurable: agentConfig });
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
  // Non-personalized: the same kind of question answered by other people.
  icl: withContext(async (_ctx, user) => {
    const context = await examplesContext(user.demonstrations.slice(0, ICL_SHOTS), "lamp/context_demonstrations");
    return async () => context;
  }),
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
    return async (query) => ({ answer: finalAnswer(await runAgent(ctx, await taskPrompt(ctx.task, query.input), { persona })) });
  },
  membank: withContext(async (_ctx, user, services) => {
    await services.memory.add(userId(services), user.interactions);
    const entries = await services.memory.list(userId(services));
    const { embeddings, vectors } = await entryVectors(services, entries.map((e) => `${e.query}\n${e.response}`));
    const unitVectors = vectors.map(unitVector);
    return async (query) => {
      const picked = memoryBankRetrieve(unitVectors, unitVector(await embeddings.embedQuery(query.input)), 4).map((i) => entries[i]!);
      return examplesContext(picked);
    };
  }),
  "persona-agent": personaAgent({ memory: true, persona: true, align: true, action: true }),
  "persona-agent-no-alignment": personaAgent({ memory: true, persona: true, align: false, action: true }),
  "persona-agent-no-persona": personaAgent({ memory: true, persona: false, align: false, action: true }),
  "persona-agent-no-memory": personaAgent({ memory: false, persona: true, align: true, action: true }),
  "persona-agent-no-action": personaAgent({ memory: true, persona: true, align: true, action: false }),
};

/** Prepares `method` for one user (memory, persona, alignment); the answerer then takes their queries. */
export async function prepareMethod(method: MethodName, ctx: MethodContext, user: MethodUser): Promise<Answerer> {
  return METHOD_IMPL[method](ctx, user, servicesFor({ configurable: ctx.configurable, store: ctx.store }));
}

/** Test-time alignment with the alignment graph (Algorithm 1): the user's latest `batch` items, `iterations` rounds. */
export const graphAligner: Aligner = async ({ store, configurable, batch, iterations }) => {
  const graph = alignmentBuilder.compile({ store });
  await graph.invoke({ userId: configurable.userId }, { configurable: { ...configurable, batchSize: batch, iterations } });
};
