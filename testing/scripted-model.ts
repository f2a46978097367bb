/**
 * A chat model whose replies a test scripts as a function of the messages it receives.
 * It records every call (messages, bound tools, start/end times) so tests can assert what
 * the model saw: the system prompt, tool results, concurrency.
 */
import {
  BaseChatModel,
  type BaseChatModelParams,
  type BindToolsInput,
} from "@langchain/core/language_models/chat_models";
import { AIMessage, type AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import type { Runnable } from "@langchain/core/runnables";
import type { BaseLanguageModelInput } from "@langchain/core/language_models/base";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";

export interface ScriptedCall {
  messages: BaseMessage[];
  tools: string[];
  startedAt: number;
  endedAt?: number;
}

export type Script = (
  messages: BaseMessage[],
  call: { index: number; tools: string[] },
) => AIMessage | string | Promise<AIMessage | string>;

export class ScriptedChatModel extends BaseChatModel {
  readonly calls: ScriptedCall[];

  constructor(
    private readonly script: Script,
    private readonly options: {
      delayMs?: number;
      boundTools?: string[];
      calls?: ScriptedCall[];
    } & BaseChatModelParams = {},
  ) {
    super(options);
    this.calls = options.calls ?? [];
  }

  _llmType(): string {
    return "scripted";
  }

  override bindTools(tools: BindToolsInput[]): Runnable<BaseLanguageModelInput, AIMessageChunk> {
    const names = tools.map((t) => convertToOpenAITool(t as never).function.name);
    // Shares the call log, so the test sees calls made through the bound copy.
    return new ScriptedChatModel(this.script, { ...this.options, boundTools: names, calls: this.calls });
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const call: ScriptedCall = { messages, tools: this.options.boundTools ?? [], startedAt: Date.now() };
    const index = this.calls.push(call) - 1;
    if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
    const reply = await this.script(messages, { index, tools: call.tools });
    call.endedAt = Date.now();
    const message = typeof reply === "string" ? new AIMessage(reply) : reply;
    return { generations: [{ text: message.text, message }] };
  }
}

/** Text of a message whatever its content shape. */
export const textOf = (m: BaseMessage | undefined): string => m?.text ?? "";
