/**
 * The steps of the alignment graph (Algorithm 1 of PersonaAgent); graphs/alignment.ts wires
 * them. Replays run through the agent steps (agent <-> tools), passed in by the graph module,
 * so src/ never imports graphs/.
 */
import { Command, END, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Runnable } from "@langchain/core/runnables";
import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { AlignmentError, InputError, UnknownUserError, UserError } from "../errors/errors.js";
import { describeProviderError } from "../models/chat.js";
import { renderSetPrompt } from "../prompts/prompts.js";
import { servicesFor, type Services } from "../services/services.js";
import { finalAnswer } from "../agent/nodes.js";
import type { PromptSet } from "../configuration/settings.js";
import type { EpisodicEntry } from "../memory/episodic.js";
import type { ToolCallRecord } from "../agent/state.js";
import { ensureAlignmentConfiguration } from "./configuration.js";
import { FeedbackLog } from "./feedback-log.js";
import { summarizeAlignment } from "./run.js";
import { exactMatchScore } from "./score.js";
import type { AlignmentStateType, AlignmentUpdate, Feedback, FeedbackInput, IterationRecord, SimulateInput, Simulation } from "./state.js";

/** The compiled agent steps (agent <-> tools): a question and a persona in, the turn's messages and tool calls out. */
export type AgentStepsRunnable = Runnable<{ messages: BaseMessage[]; persona: string }, { messages: BaseMessage[]; toolCalls: ToolCallRecord[] }>;

/** Why an LLM step failed, in one line; the run stops before anything is saved. */
function stepFailed(step: string, version: number, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const why = describeProviderError(error) ?? (error as Error)?.message ?? String(error);
  return new AlignmentError(step, version, why, { cause: error });
}

async function complete(services: Services, prompt: string, config: LangGraphRunnableConfig, step: string, version: number): Promise<string> {
  let text: string;
  try {
    const model = await services.chatModel();
    text = (await model.invoke([new HumanMessage(prompt)], config)).text.trim();
  } catch (error) {
    throw stepFailed(step, version, error);
  }
  if (!text) throw new AlignmentError(step, version, "the model returned empty text");
  return text;
}

/** Once per run: the persona Algorithm 1 starts from, and the feedback count the run will mark as aligned. */
export async function loadPersona(_state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const { config: cfg, personas, store } = servicesFor(config);
  const current = await personas.current(cfg.userId);
  if (!current) throw new UnknownUserError(cfg.userId, "no persona yet (run persona-agent ingest first)");
  const feedbackTotal = await new FeedbackLog(store).total(cfg.userId);
  return { userId: cfg.userId, persona: current.persona, version: current.version, fromVersion: current.version, feedbackTotal };
}

/**
 * Which interactions iteration `iteration` (0-based) aligns on; Algorithm 1 (line 13) obtains a
 * batch in every iteration but leaves open which. Iteration 0 takes the latest `batchSize`
 * interactions, each further iteration the `batchSize` before the previous batch, wrapping to
 * the latest when no full batch is left; so E = 1 is the paper's setting and larger E sees more
 * of the user's history. With validation, the `validationSize` interactions just before a batch
 * are its held-out set, so every batch leaves at least one older interaction.
 */
export function batchFor(entries: EpisodicEntry[], iteration: number, batchSize: number, validationSize: number): { batch: EpisodicEntry[]; heldOut: EpisodicEntry[] } {
  const reserved = validationSize > 0 ? 1 : 0;
  const fullBatches = Math.max(1, Math.floor((entries.length - reserved) / batchSize));
  const end = entries.length - (iteration % fullBatches) * batchSize;
  const start = Math.max(0, end - batchSize);
  return { batch: entries.slice(start, end), heldOut: validationSize > 0 ? entries.slice(Math.max(0, start - validationSize), start) : [] };
}

/** Algorithm 1, line 13: this iteration's batch (and held-out interactions when validating), read from the user's memory. */
export async function selectBatch(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const cfg = ensureAlignmentConfiguration(config);
  const entries = await servicesFor(config, cfg).memory.list(cfg.userId);
  if (entries.length === 0) throw new UserError(`user "${cfg.userId}" has no interactions with a true response to align on`);
  if (cfg.validate && entries.length <= cfg.batchSize) {
    throw new InputError("validate", (input) => `${input} needs interactions older than the batch of ${cfg.batchSize}: user "${cfg.userId}" has only ${entries.length}`);
  }
  return batchFor(entries, state.iterations.length, cfg.batchSize, cfg.validate ? cfg.validationSize : 0);
}

/** Map step of the iteration: one simulate task per interaction of the batch, each with the current persona. */
export function simulateEach(state: AlignmentStateType): Send[] {
  return state.batch.map((entry) => new Send("simulate", { entry, persona: state.persona, version: state.version } satisfies SimulateInput));
}

/** After each checkpoint: the next iteration, or END after E iterations. */
export function nextIteration(state: AlignmentStateType, config: LangGraphRunnableConfig): "select_batch" | typeof END {
  return state.iterations.length >= ensureAlignmentConfiguration(config).iterations ? END : "select_batch";
}

/** Replays one stored interaction with `persona` through the agent steps, never retrieving that interaction itself. */
async function replay(agent: AgentStepsRunnable, entry: EpisodicEntry, persona: string, config: LangGraphRunnableConfig): Promise<Simulation> {
  const result = await agent.invoke({ messages: [new HumanMessage(entry.query)], persona }, { ...config, configurable: { ...config.configurable, excludeIds: [entry.id] } });
  return { entryId: entry.id, answer: finalAnswer(result.messages), toolCalls: result.toolCalls };
}

export function simulateNode(agent: AgentStepsRunnable) {
  return async (input: SimulateInput, config: LangGraphRunnableConfig) => {
    const simulation = await replay(agent, input.entry, input.persona, config).catch((error: unknown) => {
      throw stepFailed(`simulating interaction ${input.entry.id}`, input.version, error);
    });
    return new Command({ goto: new Send("feedback", { ...input, simulation } satisfies FeedbackInput) });
  };
}

/**
 * LLM_grad: a textual gradient for one interaction. The paper's prompt gets exactly Algorithm 1's
 * (q, r̂, r_gt); the tuned one also sees the current persona and the agent's tool calls.
 */
export async function feedbackNode(input: FeedbackInput, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const services = servicesFor(config);
  const { entry, simulation } = input;
  const gradient = { question: entry.query, response: simulation.answer, truth: entry.response };
  const toolCalls = simulation.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join("\n") || "(none)";
  const set = services.config.promptSet;
  const values = set === "paper" ? gradient : { ...gradient, persona: input.persona, tool_calls: toolCalls };
  const prompt = await renderSetPrompt(set, "feedback", values);
  const text = await complete(services, prompt, config, `feedback (LLM_grad) on interaction ${entry.id}`, input.version);
  const feedback: Feedback = { entryId: entry.id, query: entry.query, expected: entry.response, simulated: simulation.answer, feedback: text };
  return { feedbacks: { [entry.id]: feedback } };
}

/** The iteration's feedback in batch order (fan-in order is not deterministic). */
function orderedFeedback(state: AlignmentStateType): Feedback[] {
  return state.batch.map((e) => state.feedbacks[e.id]).filter((f): f is Feedback => f !== undefined);
}

/**
 * The aggregated feedback LLM_update reads. Paper: the feedback texts alone, numbered (Algorithm 1
 * hands LLM_update nothing else). Tuned: each feedback with its question, simulated and true answer.
 */
export function aggregateFeedback(set: PromptSet, feedback: Feedback[]): string {
  const item = set === "paper" ? (f: Feedback) => f.feedback : (f: Feedback) => `Question: ${f.query}\nAssistant's answer: ${f.simulated}\nUser's true answer: ${f.expected}\nFeedback: ${f.feedback}`;
  return feedback.map((f, i) => `[${i + 1}] ${item(f)}`).join("\n\n");
}

/** LLM_update: one call that sees every feedback of the iteration and the current persona, and rewrites the persona. */
export async function updateNode(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const services = servicesFor(config);
  const set = services.config.promptSet;
  const prompt = await renderSetPrompt(set, "update", { persona: state.persona, feedback: aggregateFeedback(set, orderedFeedback(state)) });
  return { candidate: await complete(services, prompt, config, "persona update (LLM_update)", state.version) };
}

export function routeAfterUpdate(_state: AlignmentStateType, config: LangGraphRunnableConfig): "validate" | "checkpoint" {
  return ensureAlignmentConfiguration(config).validate ? "validate" : "checkpoint";
}

/** The gate: exact-match accuracy of old vs candidate persona on held-out interactions (ties keep the new one). */
export function validateNode(agent: AgentStepsRunnable) {
  return async (state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> => {
    const score = async (persona: string) => {
      const answers = await Promise.all(state.heldOut.map((entry) => replay(agent, entry, persona, config)));
      return exactMatchScore(answers.map((a, i) => ({ answer: a.answer, truth: state.heldOut[i]!.response })));
    };
    const [oldScore, newScore] = await Promise.all([score(state.persona), score(state.candidate)]).catch((error: unknown) => {
      throw stepFailed("validation", state.version, error);
    });
    return { validation: { kept: newScore >= oldScore, oldScore, newScore, heldOut: state.heldOut.length } };
  };
}

/** Saves the candidate as the next version (unless the gate rejected it) and closes the iteration. */
export async function checkpointNode(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const cfg = ensureAlignmentConfiguration(config);
  const { personas, store } = servicesFor(config, cfg);
  const feedback = orderedFeedback(state);
  const kept = state.validation?.kept ?? true;
  let { persona, version } = state;
  if (kept) {
    const details = {
      iteration: state.iterations.length + 1,
      basedOn: state.version,
      feedback: feedback.map(({ entryId, feedback: text }) => ({ entryId, feedback: text })),
      ...(state.validation ? { validation: state.validation } : {}),
    };
    // basedOn: if another alignment saved meanwhile, fail rather than overwrite what it learned.
    const saved = await personas.save(cfg.userId, state.candidate, "aligned", details, { basedOn: state.version });
    ({ persona, version } = saved);
  }
  if (state.iterations.length + 1 >= cfg.iterations) await new FeedbackLog(store).markAligned(cfg.userId, state.feedbackTotal);
  const iteration: IterationRecord = { version, kept, feedback, ...(state.validation ? { validation: state.validation } : {}) };
  return {
    persona,
    version,
    iterations: [iteration],
    alignment: summarizeAlignment({ ...state, version, iterations: [...state.iterations, iteration] }),
    feedbacks: null,
    validation: undefined,
  };
}
