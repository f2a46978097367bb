/** The steps of the persona_agent graph; graphs/persona_agent.ts wires them. */
import { randomUUID } from "node:crypto";
import { Overwrite, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { AIMessage, HumanMessage, SystemMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { Runnable } from "@langchain/core/runnables";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { loadPersona } from "../persona/persona.js";
import { MAX_TEXT_CHARS, validateText } from "../memory/history.js";
import { servicesFor, type Services } from "../services/services.js";
import { ensureConfiguration } from "../configuration/configuration.js";
import { ensureAlignmentConfiguration } from "../alignment/configuration.js";
import { initializeTools } from "../tools/index.js";
import { malformedCallReplies, repairReply, wellFormedCalls } from "./tool-call-repair.js";
import { userNamespace } from "../users/users.js";
import { putUserItems, runGeneration, userGeneration as currentGeneration, withUserLock } from "../store/lifecycle.js";
import type { RetrievedMemory } from "../memory/episodic.js";
import type { PersonaAgentStateType, PersonaAgentUpdate } from "./state.js";

/** Longer queries are refused rather than silently cut: the caller must decide. Same limit as every free-text field. */
export const MAX_QUERY_CHARS = MAX_TEXT_CHARS;

export function validateQuery(query: string): string {
  return validateText(query, "the query");
}

/** The user's true response, as it will be stored; `field` names it as the caller gave it. */
export function validateTruth(truth: string, field = "truth"): string {
  return validateText(truth, `the true response (${field})`);
}

function lastHumanIndex(messages: BaseMessage[]): number {
  return messages.findLastIndex((m) => HumanMessage.isInstance(m));
}

/** The text of the latest human message: this turn's query. */
export function turnQuery(messages: BaseMessage[]): string {
  return messages[lastHumanIndex(messages)]?.text ?? "";
}

/** The last message's text: the agent's answer once the steps are done. */
export function finalAnswer(messages: BaseMessage[]): string {
  return messages.at(-1)?.text.trim() ?? "";
}

/** persona_agent's load_persona step: checks the turn's input, starts the turn and loads the user's persona. */
export async function startTurn(
  state: PersonaAgentStateType,
  config: LangGraphRunnableConfig,
): Promise<PersonaAgentUpdate> {
  // A true response makes this a feedback turn: its input and alignment settings are checked before anything runs.
  const cfg = state.truth != null ? ensureAlignmentConfiguration(config) : ensureConfiguration(config);
  const { personas, store } = servicesFor(config, cfg);
  validateQuery(turnQuery(state.messages));
  if (state.truth != null) validateTruth(state.truth);
  // Read before the persona, under the user's lock: a forget running now is waited for; one after
  // this point refuses the turn's record.
  const userGeneration =
    runGeneration(cfg.userId) ?? (await withUserLock(store, cfg.userId, () => currentGeneration(store, cfg.userId)));
  // Each turn of a continued thread reports only its own tool calls, memories and feedback.
  const turn = {
    userGeneration,
    toolCalls: new Overwrite([]),
    retrieved: new Overwrite([]),
    sinceAlignment: null,
    alignment: null,
  };
  // A persona given in the input (alignment candidates, baselines) has no version; one loaded
  // on an earlier turn of this thread is reloaded, so a newer aligned version takes effect.
  if (state.persona && !state.personaVersion) return { ...turn, personaVersion: 0 };
  const current = await loadPersona(personas, cfg.userId);
  return { ...turn, persona: current.persona, personaVersion: current.version };
}

/** What the run's agent turns share: its tools (bound to the run's user), the tool node, and the model bound to the tools. */
interface AgentParts {
  tools: StructuredToolInterface[];
  toolNode: ToolNode;
  toolModel?: Promise<Runnable<BaseMessage[], AIMessage>>;
}

const agentParts = new WeakMap<Services, AgentParts>();

/** Made once per run (services are per run), not on every agent turn. */
function partsFor(services: Services): AgentParts {
  let parts = agentParts.get(services);
  if (!parts) {
    const { config, memory } = services;
    const { userId, k, wikipediaBaseUrl, timeoutMs, excludeIds, promptSet, memoryTool } = config;
    const tools = initializeTools({
      userId,
      memory,
      k,
      wikipediaBaseUrl,
      timeoutMs,
      excludeIds,
      promptSet,
      memoryTool,
    });
    agentParts.set(services, (parts = { tools, toolNode: new ToolNode(tools) }));
  }
  return parts;
}

function modelWithTools(services: Services): Promise<Runnable<BaseMessage[], AIMessage>> {
  const parts = partsFor(services);
  return (parts.toolModel ??= services
    .chatModel()
    .then((model) => model.bindTools!(parts.tools) as Runnable<BaseMessage[], AIMessage>));
}

/** Tool-calling turns since the user's question. */
function toolSteps(messages: BaseMessage[]): number {
  return messages
    .slice(lastHumanIndex(messages) + 1)
    .filter((m) => AIMessage.isInstance(m) && (m.tool_calls?.length ?? 0) > 0).length;
}

/**
 * The history with every tool call and tool result written as ordinary text messages. A model
 * called without tools must not be sent tool blocks: Bedrock refuses toolUse/toolResult content
 * without a toolConfig (ValidationException), so the budget's last turn reads them as text.
 */
function toolBlocksAsText(messages: BaseMessage[]): BaseMessage[] {
  const out: BaseMessage[] = [];
  let afterResult = false;
  for (const m of messages) {
    if (ToolMessage.isInstance(m)) {
      const result = `[${m.name ?? "tool"} returned]\n${m.text}`;
      // Consecutive results share one message, so user and assistant turns still alternate.
      out.push(new HumanMessage(afterResult ? `${out.pop()!.text}\n\n${result}` : result));
      afterResult = true;
      continue;
    }
    afterResult = false;
    const calls = AIMessage.isInstance(m) ? (m.tool_calls ?? []) : [];
    out.push(
      calls.length === 0
        ? m
        : new AIMessage(
            [m.text, ...calls.map((c) => `[called ${c.name} ${JSON.stringify(c.args)}]`)].filter(Boolean).join("\n"),
          ),
    );
  }
  return out;
}

export async function callAgent(
  state: PersonaAgentStateType,
  config: LangGraphRunnableConfig,
): Promise<PersonaAgentUpdate> {
  const services = servicesFor(config);
  // Past the tool budget the model gets no tools (and the history as text), so the loop always ends with an answer.
  const toolsAllowed = toolSteps(state.messages) < services.config.maxToolSteps;
  const runnable: Runnable<BaseMessage[], AIMessage> = toolsAllowed
    ? await modelWithTools(services)
    : await services.chatModel();
  const history = toolsAllowed ? state.messages : toolBlocksAsText(state.messages);
  const reply = repairReply(
    await runnable.invoke([new SystemMessage(state.persona), ...history], config),
    toolsAllowed,
  );
  return { messages: [reply], toolCalls: wellFormedCalls(reply).map((c) => ({ name: c.name, args: c.args })) };
}

export function routeAfterAgent(state: PersonaAgentStateType): "tools" | "answered" {
  const last = state.messages.at(-1);
  return last && AIMessage.isInstance(last) && (last.tool_calls?.length ?? 0) > 0 ? "tools" : "answered";
}

/** Malformed calls get their error replies first; ToolNode runs the calls that have no reply yet. */
export async function runTools(
  state: PersonaAgentStateType,
  config: LangGraphRunnableConfig,
): Promise<PersonaAgentUpdate> {
  const errors = malformedCallReplies(state.messages.at(-1) as AIMessage);
  const { messages } = (await partsFor(servicesFor(config)).toolNode.invoke(
    { messages: [...state.messages, ...errors] },
    config,
  )) as { messages: ToolMessage[] };
  const retrieved = messages.flatMap((m) => (Array.isArray(m.artifact) ? (m.artifact as RetrievedMemory[]) : []));
  return { messages: [...errors, ...messages], retrieved };
}

export async function recordInteraction(
  state: PersonaAgentStateType,
  config: LangGraphRunnableConfig,
): Promise<PersonaAgentUpdate> {
  const { config: cfg, store } = servicesFor(config);
  const answer = finalAnswer(state.messages);
  if (cfg.record) {
    const query = turnQuery(state.messages);
    const value = {
      query,
      answer,
      personaVersion: state.personaVersion,
      toolCalls: state.toolCalls.map((c) => c.name),
      createdAt: new Date().toISOString(),
    };
    await putUserItems(
      store,
      cfg.userId,
      [{ namespace: userNamespace(cfg.userId, "interactions"), key: randomUUID(), value }],
      state.userGeneration,
    );
  }
  return { answer };
}
