/**
 * A LangChain chat model running a GGUF model in process with node-llama-cpp.
 * The conversation is formatted with the model's own chat template (LlamaChat resolves its
 * chat wrapper from the GGUF); tool calls come from grammar-constrained decoding (actions.ts),
 * so they always parse and name a bound tool.
 */
import { randomUUID } from "node:crypto";
import {
  BaseChatModel,
  type BaseChatModelCallOptions,
  type BaseChatModelParams,
  type BindToolsInput,
  type ToolChoice,
} from "@langchain/core/language_models/chat_models";
import type { BaseLanguageModelInput } from "@langchain/core/language_models/base";
import { AIMessage, AIMessageChunk, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import type { ChatHistoryItem } from "node-llama-cpp";
import {
  actionSchema,
  parseAction,
  toolInstructions,
  toolSpecs,
  type Action,
  type GrammarLimits,
  type ToolSpec,
} from "./actions.js";
import { loadLocalModel, type EngineOptions, type LoadedModel } from "./engine.js";
import { deadlineError } from "../deadline.js";

export interface ChatLlamaCppFields extends BaseChatModelParams, EngineOptions, Partial<GrammarLimits> {
  /** Path of a GGUF file (resolve `hf:` URIs first with resolveLocalModel). */
  modelPath: string;
  temperature?: number;
  /** Longest reply in tokens (a cap on CPU time per call). */
  maxTokens?: number;
  seed?: number;
  /** Deadline of one call (every sample of it) in ms, as PERSONA_AGENT_TIMEOUT_MS is for hosted models; unset: none. */
  timeoutMs?: number;
}

export interface ChatLlamaCppCallOptions extends BaseChatModelCallOptions {
  tools?: BindToolsInput[];
}

const RESAMPLES = 2;
const DEFAULTS = { temperature: 0.1, maxTokens: 1024 };

export class ChatLlamaCpp extends BaseChatModel<ChatLlamaCppCallOptions, AIMessageChunk> {
  readonly modelPath: string;
  readonly temperature: number;
  readonly maxTokens: number;
  readonly seed?: number;
  readonly timeoutMs?: number;
  readonly limits: GrammarLimits;
  readonly engine: EngineOptions;

  static override lc_name() {
    return "ChatLlamaCpp";
  }

  constructor(fields: ChatLlamaCppFields) {
    super(fields);
    this.modelPath = fields.modelPath;
    this.temperature = fields.temperature ?? DEFAULTS.temperature;
    this.maxTokens = fields.maxTokens ?? DEFAULTS.maxTokens;
    this.seed = fields.seed;
    this.timeoutMs = fields.timeoutMs;
    // String limits follow maxTokens so a tool call always ends within it, even when every
    // character costs several tokens (a call cut short cannot be used; a cut answer still can).
    const clamp = (value: number, min: number, max: number) => Math.max(min, Math.min(max, Math.floor(value)));
    this.limits = {
      maxArgChars: fields.maxArgChars ?? clamp(this.maxTokens / 16, 8, 300),
      maxAnswerChars: fields.maxAnswerChars ?? clamp(this.maxTokens * 2, 16, 4_000),
    };
    this.engine = { contextSize: fields.contextSize, threads: fields.threads };
  }

  _llmType(): string {
    return "llama-cpp";
  }

  /** Loads (or reuses) the model; exposed so callers can preload and report load time. */
  load(): Promise<LoadedModel> {
    return loadLocalModel(this.modelPath, this.engine);
  }

  override bindTools(
    tools: BindToolsInput[],
    kwargs?: Partial<ChatLlamaCppCallOptions>,
  ): Runnable<BaseLanguageModelInput, AIMessageChunk, ChatLlamaCppCallOptions> {
    return this.withConfig({ ...kwargs, tools });
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    if (this.timeoutMs === undefined) return this.generateWithin(messages, options);
    await this.load(); // loading (once per process) is not the call's time
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      return await this.generateWithin(messages, { ...options, signal });
    } catch (error) {
      throw deadline.aborted ? deadlineError(this.timeoutMs) : error;
    }
  }

  private async generateWithin(messages: BaseMessage[], options: this["ParsedCallOptions"]): Promise<ChatResult> {
    const tools = toolSpecs(options.tools ?? []);
    const offered = offeredTools(tools, options.tool_choice);
    const useTools = offered.length > 0;
    const instructions = useTools ? await toolInstructions(offered, !isForced(options.tool_choice)) : undefined;
    const history = toChatHistory(messages, instructions);

    const loaded = await this.load();
    const grammar = useTools
      ? await loaded.grammar(actionSchema(offered, this.limits, !isForced(options.tool_choice)))
      : undefined;
    const generate = (seed: number | undefined) =>
      loaded.exclusive(() =>
        loaded.chat.generateResponse(history, {
          grammar,
          maxTokens: this.maxTokens,
          temperature: this.temperature,
          seed,
          signal: options.signal,
        }),
      );

    let { response, metadata } = await generate(this.seed);
    if (!useTools) return result(new AIMessageChunk(response.trim()), this.modelPath, metadata.stopReason);
    let action = parseAction(response, offered);
    // The grammar fixes the shape, not every constraint (an integer in range, a minimum
    // length): resample a couple of times before reporting an invalid call.
    for (
      let attempt = 1;
      action.kind === "invalid" && metadata.stopReason !== "maxTokens" && attempt <= RESAMPLES;
      attempt++
    ) {
      ({ response, metadata } = await generate((this.seed ?? 0) + attempt * 7919));
      action = parseAction(response, offered);
    }
    return result(messageFor(action), this.modelPath, metadata.stopReason);
  }
}

function result(message: AIMessageChunk, model: string, stopReason: string | undefined): ChatResult {
  message.response_metadata = { model, stopReason };
  return { generations: [{ text: message.text, message }] };
}

/** `tool_choice` narrows the tools offered: "none" offers none, a name offers that one. */
function offeredTools(tools: ToolSpec[], choice: ToolChoice | undefined): ToolSpec[] {
  if (choice === "none") return [];
  const name =
    typeof choice === "string" ? choice : (choice as { function?: { name?: string } } | undefined)?.function?.name;
  const named = name && !["auto", "any", "required"].includes(name) ? tools.filter((t) => t.name === name) : [];
  return named.length > 0 ? named : tools;
}

/** With a forced choice ("any", "required" or a tool name) the grammar has no answer branch. */
function isForced(choice: ToolChoice | undefined): boolean {
  return choice !== undefined && choice !== "auto" && choice !== "none";
}

function messageFor(action: Action): AIMessageChunk {
  switch (action.kind) {
    case "answer":
      return new AIMessageChunk(action.text);
    case "tool":
      return new AIMessageChunk({
        content: "",
        tool_calls: [{ id: `call_${randomUUID()}`, name: action.name, args: action.args, type: "tool_call" }],
      });
    case "invalid": {
      const message = new AIMessageChunk("");
      // Set after construction: AIMessageChunk rebuilds invalid_tool_calls from tool_call_chunks.
      message.invalid_tool_calls = [
        {
          id: `call_${randomUUID()}`,
          name: action.name,
          args: action.raw,
          error: action.error,
          type: "invalid_tool_call",
        },
      ];
      return message;
    }
  }
}

/**
 * LangChain messages -> node-llama-cpp chat history. Tool calls are replayed in the JSON
 * form the model emits them in, tool results as user turns; consecutive turns of one role
 * are merged because some chat templates insist on alternating roles.
 */
export function toChatHistory(messages: BaseMessage[], toolInstructions?: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const push = (item: ChatHistoryItem) => {
    const last = history.at(-1);
    if (last?.type === "system" && item.type === "system") last.text = `${last.text}\n\n${item.text}`;
    else if (last?.type === "user" && item.type === "user") last.text = `${last.text}\n\n${item.text}`;
    else if (last?.type === "model" && item.type === "model") last.response.push("\n", ...item.response);
    else history.push(item);
  };
  for (const m of messages) {
    const type = m.getType();
    if (type === "system") push({ type: "system", text: m.text });
    else if (type === "ai") {
      const calls = (m as AIMessage).tool_calls ?? [];
      const text =
        calls.length > 0 ? calls.map((c) => JSON.stringify({ tool: c.name, arguments: c.args })).join("\n") : m.text;
      push({ type: "model", response: [text] });
    } else if (type === "tool")
      push({ type: "user", text: `Result of ${(m as ToolMessage).name ?? "the tool"}:\n${m.text}` });
    else push({ type: "user", text: m.text });
  }
  if (toolInstructions) {
    const system = history[0]?.type === "system" ? history[0] : undefined;
    if (system) system.text = `${system.text}\n\n${toolInstructions}`;
    else history.unshift({ type: "system", text: toolInstructions });
  }
  history.push({ type: "model", response: [] });
  return history;
}
