/**
 * The steps of the alignment graph (Algorithm 1 of PersonaAgent); graphs/alignment.ts wires
 * them. Replays run through the agent steps (agent <-> tools, graphs/agent_steps.ts), passed in
 * by the graph module, so src/ never imports graphs/. Nothing is saved before the last
 * iteration ends: save_persona saves every kept iteration's persona at once.
 */
import { Overwrite, Send, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { HumanMessage, type BaseMessage } from "@langchain/core/messages";
import { AlignmentError, InputError, UserError } from "../errors/errors.js";
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
import { loadPersona } from "../persona/persona.js";
import type {
  AlignmentStateType,
  AlignmentUpdate,
  Gradient,
  GradientInput,
  IterationRecord,
  SimulateInput,
  Simulation,
} from "./state.js";

/** The agent steps (agent <-> tools) as a replay calls them: a question and a persona in, the turn's messages and tool calls out. */
export interface AgentSteps {
  invoke(
    input: { messages: BaseMessage[]; persona: string },
    config: LangGraphRunnableConfig,
  ): Promise<{ messages: BaseMessage[]; toolCalls: ToolCallRecord[] }>;
}

/** Why a step failed, in one line; the run stops and nothing is saved, so `version` (the run's first) stays current. */
function stepFailed(step: string, version: number, error: unknown): UserError {
  if (error instanceof UserError) return error;
  const why = describeProviderError(error) ?? (error as Error)?.message ?? String(error);
  return new AlignmentError(step, version, why, { cause: error });
}

async function complete(
  services: Services,
  prompt: string,
  config: LangGraphRunnableConfig,
  step: string,
  version: number,
): Promise<string> {
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

/** The alignment's load_persona step, once per run: the persona Algorithm 1 starts from, and the feedback count the run will mark as aligned. */
export async function startAlignment(
  _state: AlignmentStateType,
  config: LangGraphRunnableConfig,
): Promise<AlignmentUpdate> {
  const { config: cfg, personas, store } = servicesFor(config);
  const current = await loadPersona(personas, cfg.userId);
  const feedbackTotal = await new FeedbackLog(store).total(cfg.userId);
  // A run on a thread that ran alignment before starts with none of that run's iterations or personas.
  const fresh = { iterations: new Overwrite([]), unsaved: new Overwrite([]) };
  return {
    ...fresh,
    userId: cfg.userId,
    persona: current.persona,
    version: current.version,
    fromVersion: current.version,
    feedbackTotal,
  };
}

/**
 * Which interactions iteration `iteration` (0-based) aligns on; Algorithm 1 (line 13) obtains a
 * batch in every iteration but leaves open which. Iteration 0 takes the latest `batchSize`
 * interactions, each further iteration the `batchSize` before the previous batch, wrapping to
 * the latest when no full batch is left; so E = 1 is the paper's setting and larger E sees more
 * of the user's history. With validation, the `validationSize` interactions just before a batch
 * are its held-out set, so every batch leaves at least one older interaction.
 */
export function batchFor(
  entries: EpisodicEntry[],
  iteration: number,
  batchSize: number,
  validationSize: number,
): { batch: EpisodicEntry[]; heldOut: EpisodicEntry[] } {
  const reserved = validationSize > 0 ? 1 : 0;
  const fullBatches = Math.max(1, Math.floor((entries.length - reserved) / batchSize));
  const end = entries.length - (iteration % fullBatches) * batchSize;
  const start = Math.max(0, end - batchSize);
  return {
    batch: entries.slice(start, end),
    heldOut: validationSize > 0 ? entries.slice(Math.max(0, start - validationSize), start) : [],
  };
}

/** Algorithm 1, line 13: this iteration's batch (and held-out interactions when validating), read from the user's memory. */
export async function selectBatch(
  state: AlignmentStateType,
  config: LangGraphRunnableConfig,
): Promise<AlignmentUpdate> {
  const cfg = ensureAlignmentConfiguration(config);
  const entries = await servicesFor(config, cfg).memory.list(cfg.userId);
  if (entries.length === 0)
    throw new UserError(`user "${cfg.userId}" has no interactions with a true response to align on`);
  if (cfg.validate && entries.length <= cfg.batchSize) {
    throw new InputError(
      "validate",
      (input) =>
        `${input} needs interactions older than the batch of ${cfg.batchSize}: user "${cfg.userId}" has only ${entries.length}`,
    );
  }
  // Each iteration's fan-in channels start empty.
  return {
    ...batchFor(entries, state.iterations.length, cfg.batchSize, cfg.validate ? cfg.validationSize : 0),
    simulations: null,
    gradients: null,
  };
}

/** Map step of the iteration: one simulate task per interaction of the batch, each with the current persona. */
export function simulateEach(state: AlignmentStateType): Send[] {
  return state.batch.map(
    (entry) =>
      new Send("simulate", { entry, persona: state.persona, fromVersion: state.fromVersion } satisfies SimulateInput),
  );
}

/**
 * After each simulate task: one LLM_grad task for its simulation. A conditional edge reads the
 * state with only its own task's writes applied (the iteration's channel starts empty), so each
 * simulation is sent once, as soon as it is done.
 */
export function gradeEach(state: AlignmentStateType): Send[] {
  return state.batch
    .filter((entry) => state.simulations[entry.id])
    .map(
      (entry) =>
        new Send("gradient", {
          entry,
          persona: state.persona,
          fromVersion: state.fromVersion,
          simulation: state.simulations[entry.id]!,
        } satisfies GradientInput),
    );
}

/** After each iteration: the next one, or save_persona after E iterations. */
export function nextIteration(
  state: AlignmentStateType,
  config: LangGraphRunnableConfig,
): "select_batch" | "save_persona" {
  return state.iterations.length >= ensureAlignmentConfiguration(config).iterations ? "save_persona" : "select_batch";
}

/** Replays one stored interaction with `persona` through the agent steps, never retrieving that interaction itself. */
async function replay(
  agent: AgentSteps,
  entry: EpisodicEntry,
  persona: string,
  config: LangGraphRunnableConfig,
): Promise<Simulation> {
  const result = await agent.invoke(
    { messages: [new HumanMessage(entry.query)], persona },
    { ...config, configurable: { ...config.configurable, excludeIds: [entry.id] } },
  );
  return { entryId: entry.id, answer: finalAnswer(result.messages), toolCalls: result.toolCalls };
}

/** Algorithm 1's simulation r̂ for one interaction of the batch, with the current persona. */
export function simulateNode(agent: AgentSteps) {
  return async (input: SimulateInput, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> => {
    const simulation = await replay(agent, input.entry, input.persona, config).catch((error: unknown) => {
      throw stepFailed(`simulating interaction ${input.entry.id}`, input.fromVersion, error);
    });
    return { simulations: { [input.entry.id]: simulation } };
  };
}

/**
 * LLM_grad: a textual gradient for one interaction. The paper's prompt gets exactly Algorithm 1's
 * (q, r̂, r_gt); the tuned one also sees the current persona and the agent's tool calls.
 */
export async function gradientNode(input: GradientInput, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const services = servicesFor(config);
  const { entry, simulation } = input;
  const triple = { question: entry.query, response: simulation.answer, truth: entry.response };
  const toolCalls = simulation.toolCalls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join("\n") || "(none)";
  const set = services.config.promptSet;
  const values = set === "paper" ? triple : { ...triple, persona: input.persona, tool_calls: toolCalls };
  const prompt = await renderSetPrompt(set, "feedback", values);
  const text = await complete(
    services,
    prompt,
    config,
    `feedback (LLM_grad) on interaction ${entry.id}`,
    input.fromVersion,
  );
  const gradient: Gradient = {
    entryId: entry.id,
    query: entry.query,
    expected: entry.response,
    simulated: simulation.answer,
    feedback: text,
  };
  return { gradients: { [entry.id]: gradient } };
}

/** The iteration's gradients in batch order (fan-in order is not deterministic). */
function orderedGradients(state: AlignmentStateType): Gradient[] {
  return state.batch.map((e) => state.gradients[e.id]).filter((g): g is Gradient => g !== undefined);
}

/**
 * The aggregated feedback LLM_update reads. Paper: the feedback texts alone, numbered (Algorithm 1
 * hands LLM_update nothing else). Tuned: each feedback with its question, simulated and true answer.
 */
export function aggregateFeedback(set: PromptSet, feedback: Gradient[]): string {
  const item =
    set === "paper"
      ? (f: Gradient) => f.feedback
      : (f: Gradient) =>
          `Question: ${f.query}\nAssistant's answer: ${f.simulated}\nUser's true answer: ${f.expected}\nFeedback: ${f.feedback}`;
  return feedback.map((f, i) => `[${i + 1}] ${item(f)}`).join("\n\n");
}

/** LLM_update: one call that sees every feedback of the iteration and the current persona, and rewrites the persona. */
export async function updateNode(state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> {
  const services = servicesFor(config);
  const set = services.config.promptSet;
  const prompt = await renderSetPrompt(set, "update", {
    persona: state.persona,
    feedback: aggregateFeedback(set, orderedGradients(state)),
  });
  return { candidate: await complete(services, prompt, config, "persona update (LLM_update)", state.fromVersion) };
}

export function routeAfterUpdate(
  _state: AlignmentStateType,
  config: LangGraphRunnableConfig,
): "validate" | "close_iteration" {
  return ensureAlignmentConfiguration(config).validate ? "validate" : "close_iteration";
}

/** The gate: exact-match accuracy of old vs candidate persona on held-out interactions (ties keep the new one). */
export function validateNode(agent: AgentSteps) {
  return async (state: AlignmentStateType, config: LangGraphRunnableConfig): Promise<AlignmentUpdate> => {
    const score = async (persona: string) => {
      const answers = await Promise.all(state.heldOut.map((entry) => replay(agent, entry, persona, config)));
      return exactMatchScore(answers.map((a, i) => ({ answer: a.answer, truth: state.heldOut[i]!.response })));
    };
    const [oldScore, newScore] = await Promise.all([score(state.persona), score(state.candidate)]).catch(
      (error: unknown) => {
        throw stepFailed("validation", state.fromVersion, error);
      },
    );
    return { validation: { kept: newScore >= oldScore, oldScore, newScore, heldOut: state.heldOut.length } };
  };
}

/**
 * Closes the iteration: a kept candidate becomes the persona the next iteration works on, as the
 * next version, saved with the others by save_persona once every iteration succeeded.
 */
export function closeIteration(state: AlignmentStateType): AlignmentUpdate {
  const gradients = orderedGradients(state);
  const kept = state.validation?.kept ?? true;
  const validation = state.validation ? { validation: state.validation } : {};
  const version = kept ? state.version + 1 : state.version;
  const iteration: IterationRecord = { version, kept, feedback: gradients, ...validation };
  if (!kept) return { iterations: [iteration], validation: undefined };
  const details = {
    iteration: state.iterations.length + 1,
    basedOn: state.version,
    feedback: gradients.map(({ entryId, feedback }) => ({ entryId, feedback })),
    ...validation,
  };
  return {
    persona: state.candidate,
    version,
    iterations: [iteration],
    unsaved: [{ persona: state.candidate, origin: "aligned", details }],
    validation: undefined,
  };
}

/**
 * After the last iteration: every kept persona as its own version, all at once, only if the
 * head is still the run's first version (if another alignment saved meanwhile, fail rather than
 * overwrite what it learned); then the feedback so far counts as aligned.
 */
export async function savePersona(
  state: AlignmentStateType,
  config: LangGraphRunnableConfig,
): Promise<AlignmentUpdate> {
  const { config: cfg, personas, store } = servicesFor(config);
  // A run whose every candidate the gate refused has nothing to save, and so nothing to conflict with.
  if (state.unsaved.length > 0) await personas.saveVersions(cfg.userId, state.unsaved, { basedOn: state.fromVersion });
  await new FeedbackLog(store).markAligned(cfg.userId, state.feedbackTotal);
  return { alignment: summarizeAlignment(state) };
}
