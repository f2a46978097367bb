/**
 * The methods of the paper's Table 2 and the ablations of Table 3, as functions from one LaMP
 * question (one user, user-based format) to an answer. Each reuses the project's modules:
 * EpisodicMemory (FAISS) for retrieval, ingestHistory/summarizeProfile for the profile and the
 * persona, and the persona_agent graph for the agents.
 */
import type { BaseStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { builder as personaAgentBuilder } from "../../graphs/persona_agent.js";
import { builder as alignmentBuilder } from "../../graphs/alignment.js";
import { loadPrompt, renderPrompt } from "../prompts.js";
import type { Configuration } from "../configuration.js";
import { servicesFor, type Services } from "../services.js";
import { LAMP_LABELS, profileItemToHistoryEntry, type LampExample, type LampTask } from "../data/lamp.js";
import { ingestHistory } from "../memory/ingest.js";
import { unitVector, type EpisodicEntry } from "../memory/episodic.js";
import { initialPersona } from "../persona/persona.js";
import { createEmbeddings } from "../models/embeddings.js";
import { memoryBankRetrieve } from "./membank.js";

import type { MethodName } from "./method-names.js";

export { ABLATIONS, BASELINES, METHODS, parseMethod, type MethodName } from "./method-names.js";

/** Profile items shown as in-context examples by `icl`: the user's most recent ones. */
const ICL_SHOTS = 3;
/** Characters of one profile field shown in a prompt (LaMP truncates per item too). */
const FIELD_CHARS = 400;

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

export interface MethodContext {
  task: LampTask;
  store: BaseStore;
  /** Run configuration with this question's user id (never a real user's: see runner.ts). */
  configurable: Partial<Configuration>;
  params: MethodParams;
  aligner: Aligner;
}

export interface MethodResult {
  answer: string;
  /** The final persona, for personas' similarity across users. */
  persona?: string;
}

const clip = (text: string) => (text.length <= FIELD_CHARS ? text : `${text.slice(0, FIELD_CHARS - 1)}…`);

function historyOf(task: LampTask, example: LampExample) {
  return example.profile.map((item) => profileItemToHistoryEntry(task, item));
}

async function examplesContext(task: LampTask, entries: Pick<EpisodicEntry, "query" | "response">[]): Promise<string> {
  if (entries.length === 0) return "";
  const lines = await Promise.all(entries.map((e) => renderPrompt(`lamp/examples/${task}`, { query: clip(e.query), response: clip(e.response) })));
  return `${await renderPrompt("lamp/context_examples", { examples: lines.join("\n") })}\n\n`;
}

export async function taskPrompt(task: LampTask, question: string, context = ""): Promise<string> {
  return renderPrompt(`lamp/${task}`, { context, question, labels: (LAMP_LABELS[task] ?? []).join(", ") });
}

async function askModel(services: Services, prompt: string): Promise<string> {
  const reply = await (await services.chatModel()).invoke([new HumanMessage(prompt)]);
  return reply.text;
}

/** Runs the persona_agent graph; the persona comes from the store unless one is given. */
async function runAgent(ctx: MethodContext, prompt: string, options: { persona?: string; maxToolSteps?: number } = {}): Promise<string> {
  const graph = personaAgentBuilder.compile({ store: ctx.store });
  const configurable = { ...ctx.configurable, ...(options.maxToolSteps !== undefined ? { maxToolSteps: options.maxToolSteps } : {}) };
  const input = { messages: [new HumanMessage(prompt)], ...(options.persona ? { persona: options.persona } : {}) };
  const state = await graph.invoke(input, { configurable });
  return state.answer ?? "";
}

/** Profile -> episodic memory, semantic profile and initial persona (idempotent). */
async function ingest(ctx: MethodContext, services: Services, example: LampExample) {
  return ingestHistory(services, services.config.userId, historyOf(ctx.task, example), { task: ctx.task });
}

async function retrieve(services: Services, query: string, k: number) {
  return services.memory.retrieve(services.config.userId, query, k);
}

async function currentPersona(services: Services): Promise<string | undefined> {
  return (await services.personas.current(services.config.userId))?.persona;
}

type Method = (ctx: MethodContext, example: LampExample, services: Services) => Promise<MethodResult>;

const rag = (k: number): Method => async (ctx, example, services) => {
  await services.memory.add(services.config.userId, historyOf(ctx.task, example));
  const context = await examplesContext(ctx.task, await retrieve(services, example.input, k));
  return { answer: await askModel(services, await taskPrompt(ctx.task, example.input, context)) };
};

/** PersonaAgent with or without alignment, persona, memory and actions (the paper's ablations). */
const personaAgent = (parts: { align: boolean; action: boolean }): Method => async (ctx, example, services) => {
  await ingest(ctx, services, example);
  if (parts.align) await ctx.aligner({ store: ctx.store, configurable: ctx.configurable, batch: ctx.params.batch, iterations: ctx.params.iterations });
  // Without actions the agent gets no tools, so its memories come in the prompt instead.
  const context = parts.action ? "" : await examplesContext(ctx.task, await retrieve(services, example.input, ctx.params.k));
  const answer = await runAgent(ctx, await taskPrompt(ctx.task, example.input, context), parts.action ? {} : { maxToolSteps: 0 });
  return { answer, persona: await currentPersona(services) };
};

const METHOD_IMPL: Record<MethodName, Method> = {
  prompt: async (ctx, example, services) => ({ answer: await askModel(services, await taskPrompt(ctx.task, example.input)) }),
  icl: async (ctx, example, services) => {
    await services.memory.add(services.config.userId, historyOf(ctx.task, example));
    const context = await examplesContext(ctx.task, await services.memory.latest(services.config.userId, ICL_SHOTS));
    return { answer: await askModel(services, await taskPrompt(ctx.task, example.input, context)) };
  },
  "rag-1": rag(1),
  "rag-4": rag(4),
  "pag-4": async (ctx, example, services) => {
    await ingest(ctx, services, example);
    const profile = (await services.semantic.get(services.config.userId))!.text;
    const profileContext = `${await renderPrompt("lamp/context_profile", { profile })}\n\n`;
    const context = profileContext + (await examplesContext(ctx.task, await retrieve(services, example.input, 4)));
    return { answer: await askModel(services, await taskPrompt(ctx.task, example.input, context)) };
  },
  react: async (ctx, example, services) => {
    await services.memory.add(services.config.userId, historyOf(ctx.task, example));
    return { answer: await runAgent(ctx, await taskPrompt(ctx.task, example.input), { persona: loadPrompt("lamp/generic_agent") }) };
  },
  membank: async (ctx, example, services) => {
    const userId = services.config.userId;
    await services.memory.add(userId, historyOf(ctx.task, example));
    const entries = await services.memory.list(userId);
    const embeddings = await createEmbeddings(services.config.embeddings, services.config);
    const [vectors, query] = await Promise.all([embeddings.embedDocuments(entries.map((e) => `${e.query}\n${e.response}`)), embeddings.embedQuery(example.input)]);
    const picked = memoryBankRetrieve(vectors.map(unitVector), unitVector(query), 4).map((i) => entries[i]!);
    const context = await examplesContext(ctx.task, picked);
    return { answer: await askModel(services, await taskPrompt(ctx.task, example.input, context)) };
  },
  "persona-agent": personaAgent({ align: true, action: true }),
  "persona-agent-no-alignment": personaAgent({ align: false, action: true }),
  "persona-agent-no-action": personaAgent({ align: true, action: false }),
  // Same memory and tools, but a generic system prompt: nothing to align.
  "persona-agent-no-persona": async (ctx, example, services) => {
    await services.memory.add(services.config.userId, historyOf(ctx.task, example));
    return { answer: await runAgent(ctx, await taskPrompt(ctx.task, example.input), { persona: loadPrompt("lamp/generic_agent") }) };
  },
  // No memory at all: nothing ingested (the memory tool finds nothing), a persona with no user data.
  "persona-agent-no-memory": async (ctx, example, services) => {
    const persona = await initialPersona(loadPrompt("lamp/no_profile"), services.config.promptSet);
    return { answer: await runAgent(ctx, await taskPrompt(ctx.task, example.input), { persona }), persona };
  },
};

export async function runMethod(method: MethodName, ctx: MethodContext, example: LampExample): Promise<MethodResult> {
  return METHOD_IMPL[method](ctx, example, servicesFor({ configurable: ctx.configurable, store: ctx.store }));
}

/** Test-time alignment with the alignment graph (Algorithm 1): the user's latest `batch` items, `iterations` rounds. */
export const graphAligner: Aligner = async ({ store, configurable, batch, iterations }) => {
  const graph = alignmentBuilder.compile({ store });
  await graph.invoke({ userId: configurable.userId }, { configurable: { ...configurable, batchSize: batch, iterations } });
};
