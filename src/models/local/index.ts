/**
 * `local:<model>` provider: a GGUF model run in process by llama.cpp (node-llama-cpp).
 * src/models/chat.ts imports this module only when a `local:` model is asked for, so other
 * providers never load the native binding.
 */
import { ChatLlamaCpp } from "./chat-model.js";
import { resolveLocalModel } from "./resolve.js";
import { localModelSettings } from "../../configuration/settings.js";

export { ChatLlamaCpp, toChatHistory, type ChatLlamaCppFields } from "./chat-model.js";
export { DEFAULT_LOCAL_MODEL, checkGgufFile, modelCacheDir, resolveLocalModel } from "./resolve.js";
export { disposeLocalModels, loadLocalModel, type LoadedModel } from "./engine.js";
export { actionSchema, parseAction, toGbnfSchema, toolSpecs } from "./actions.js";

export interface LocalChatOptions {
  temperature: number;
  /** Deadline of one call (PERSONA_AGENT_TIMEOUT_MS); model loading is not counted. */
  timeoutMs?: number;
}

/** Resolves (and downloads once, for `hf:` URIs) the model; loading waits for the first call. */
export async function createLocalChatModel(name: string, options: LocalChatOptions): Promise<ChatLlamaCpp> {
  const modelPath = await resolveLocalModel(name);
  const { maxTokens } = localModelSettings();
  return new ChatLlamaCpp({ modelPath, temperature: options.temperature, maxTokens, timeoutMs: options.timeoutMs });
}
