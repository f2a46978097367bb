/**
 * The steps of the alignment graph (Algorithm 1 of PersonaAgent); graphs/alignment.ts wires
 * them. The persona agent is passed in (compiled by the graph module), so src/ never imports
 * graphs/.
 */
import { setMaxListeners } from "node:events";
import { Command, END, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import type { Runnable } from "@langchain/core/runnables";
import { HumanMessage } from "@langchain/core/messages";
import { UserError } from "../errors.js";
import { describeProviderError, ModelError } from "../models/chat.js";
import { renderPrompt } from "../prompts.js";
import { servicesFor } from "../services.js";
import type { EpisodicEntry } from "../memory/episodic.js";
import type { ToolCallRecord } from "../agent/state.js";
import { ensureAlignmentConfiguration } from "./configuration.js";
import { FeedbackLog } from "./feedback-log.js";
import { exactMatchScore } from "./score.js";
import type { AlignmentStateType, AlignmentUpdate, Feedback, FeedbackInput, SimulateInput, Simulation } from "./state.js";

/** The compiled persona_agent graph (its input and output state, loosely typed). */
export type PersonaAgentRunnable = Runnable<Record<string, unknown>, { answer: string; toolCalls: ToolCallRecord[] }>;

/** Why an LLM step failed, in one line; the run stops before anything is saved. */
function stepFailed(step: string, version: number, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const why = describeProviderError(error) ?? (error as Error)?.message ?? String(error);
  return new ModelError(`alignment failed: ${step}: ${why}; the persona stays at v${version}`, { cause: error });
}

async function complete(prompt: string, config: LangGraphRunnableConfig, step: string, version: number): Promise<string> {
  let text: string;
  try {
    const model = await servicesFor(config).chatModel();
    text = (await model.invoke([new HumanMessage(prompt)], config)).text.trim();
  } catch (error) {
    throw stepFailed(step, version, error);
  }
  if (!text) throw new ModelError(`alignment failed: ${step} returned empty text; the persona stays at v${version}`);
  return text;
}

export async function selectBatch(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const cfg = ensureAlignmentConfiguration(config);
  const { memory, personas } = servicesFor(config);
  const current = await personas.current(cfg.userId);
  if (!current) throw new UserError(`unknown user "${cfg.userId}": no persona yet (run persona-agent ingest first)`);
  const feedbackTotal = await new FeedbackLog(servicesFor(config).store).total(cfg.userId);
  const wanted = cfg.batchSize + (cfg.validate ? cfg.validationSize : 0);
  const recent = await memory.latest(cfg.userId, wanted);
  if (recent.length === 0) throw new UserError(`user "${cfg.userId}" has no interactions with a true response to align on`);
  const batch = recent.slice(-cfg.batchSize);
  const heldOut = cfg.validate ? recent.slice(0, -cfg.batchSize) : [];
  if (cfg.validate && heldOut.length === 0) {
    throw new UserError(`--validate needs interactions older than the batch of ${cfg.batchSize}: user "${cfg.userId}" has only ${recent.length}`);
  }
  return { userId: cfg.userId, batch, heldOut, persona: current.persona, version: current.version, fromVersion: current.version, feedbackTotal };
}

/** After select_batch and each checkpoint: one simulate task per interaction, or END after E iterations. */
export function nextIteration(state: AlignmentStateType, config: LangGraphRunnableConfig): Send[] | typeof END {
  if (state.iterations.length >= ensureAlignmentConfiguration(config).iterations) return END;
  return state.batch.map((entry) => new Send("simulate", { entry, persona: state.persona, version: state.version } satisfies SimulateInput));
}

/** Replays one stored interaction with `persona`, never retrieving that interaction itself. */
async function replay(agent: PersonaAgentRunnable, entry: EpisodicEntry, persona: string, config: LangGraphRunnableConfig): Promise<Simulation> {
  // Nested runs register their per-step abort listeners on the top-level run's signal (LangGraph
  // keeps it in configurable.__pregel_abort_signals), so n concurrent replays trip Node's
  // 10-listener warning. Listeners are removed after each step; the limit only silences noise.
  const external = (config.configurable?.__pregel_abort_signals as { externalAbortSignal?: AbortSignal } | undefined)?.externalAbortSignal;
  if (external) setMaxListeners(0, external);
  const result = await agent.invoke(
    { messages: [new HumanMessage(entry.query)], persona },
    { ...config, configurable: { ...config.configurable, record: false, excludeIds: [entry.id] } },
  );
  return { entryId: entry.id, answer: result.answer, toolCalls: result.toolCalls };
}

export function simulateNode(agent: PersonaAgentRunnable) {
  return async (input: SimulateInput, config: LangGraphRunnableConfig) => {
    const simulation = await replay(agent, input.entry, input.persona, config).catch((error: unknown) => {
      throw stepFailed(`simulating interaction ${input.entry.id}`, input.version, error);
    });
    return new Command({
      update: { simulations: { [input.entry.id]: simulation } },
      goto: new Send("feedback", { ...input, simulation } satisfies FeedbackInput),
    });
  };
}

/** LLM_grad: a textual gradient for one interaction. */
export async function feedbackNode(input: FeedbackInput, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const { entry, simulation } = input;
  const toolCalls = simulation.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join("\n") || "(none)";
  const prompt = await renderPrompt("feedback", {
    persona: input.persona,
    query: entry.query,
    tool_calls: toolCalls,
    simulated: simulation.answer,
    expected: entry.response,
  });
  const text = await complete(prompt, config, `feedback (LLM_grad) on interaction ${entry.id}`, input.version);
  const feedback: Feedback = { entryId: entry.id, query: entry.query, expected: entry.response, simulated: simulation.answer, feedback: text };
  return { feedbacks: { [entry.id]: feedback } };
}

/** The iteration's feedback in batch order (fan-in order is not deterministic). */
function orderedFeedback(state: AlignmentStateType): Feedback[] {
  return state.batch.map((e) => state.feedbacks[e.id]).filter((f): f is Feedback => f !== undefined);
}

/** LLM_update: one call that sees every feedback of the iteration and rewrites the persona. */
export async function updateNode(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const feedback = orderedFeedback(state)
    .map((f, i) => `[${i + 1}] Question: ${f.query}\nAssistant's answer: ${f.simulated}\nUser's true answer: ${f.expected}\nFeedback: ${f.feedback}`)
    .join("\n\n");
  const prompt = await renderPrompt("update", { persona: state.persona, feedback });
  return { candidate: await complete(prompt, config, "persona update (LLM_update)", state.version) };
}

export function routeAfterUpdate(_state: AlignmentStateType, config: LangGraphRunnableConfig): "validate" | "checkpoint" {
  return ensureAlignmentConfiguration(config).validate ? "validate" : "checkpoint";
}

/** The gate: exact-match accuracy of old vs candidate persona on held-out interactions (ties keep the new one). */
export function validateNode(agent: PersonaAgentRunnable) {
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
  const { personas, store } = servicesFor(config);
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
  return {
    persona,
    version,
    iterations: [{ version, kept, feedback, ...(state.validation ? { validation: state.validation } : {}) }],
    simulations: null,
    feedbacks: null,
    validation: undefined,
  };
}
