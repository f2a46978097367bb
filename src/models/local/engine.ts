/**
 * The in-process llama.cpp engine: one binding per process, one loaded model (with its
 * context and chat) per GGUF path, reused by every chat model object that names it.
 */
import { availableParallelism } from "node:os";
import type { Llama, LlamaChat, LlamaContext, LlamaGrammar, LlamaModel, GbnfJsonSchema } from "node-llama-cpp";
import { UserError } from "../../errors/errors.js";
import { debugEnabled, localModelSettings } from "../../configuration/settings.js";

export interface EngineOptions {
  /** Upper bound of the context window (llama.cpp picks less when memory or the model's training size is smaller). */
  contextSize?: number;
  /** CPU threads; default all cores but one (see defaultThreads). */
  threads?: number;
}

export interface LoadedModel {
  path: string;
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  chat: LlamaChat;
  loadMs: number;
  /** A context sequence generates one reply at a time: concurrent calls queue here. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Compiled grammars by schema (compiling one costs more than a short generation). */
  grammar(schema: GbnfJsonSchema): Promise<LlamaGrammar>;
}

let llamaPromise: Promise<Llama> | undefined;
const loaded = new Map<string, Promise<LoadedModel>>();

/**
 * One core is left to Node (event loop, tools, embeddings): on a 2-core machine llama.cpp
 * with 2 threads stalled for up to a second per token in our measurements (bench/local.ts).
 */
export function defaultThreads(): number {
  return localModelSettings().threads ?? Math.max(1, availableParallelism() - 1);
}

async function getEngine(): Promise<Llama> {
  llamaPromise ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    // CPU by default: its prebuilt binding ships in the package and needs no probing or build.
    const { gpu } = localModelSettings();
    // llama.cpp's own log lines would break the CLI's one-line errors; load failures are
    // reported by our UserError instead. PERSONA_AGENT_DEBUG=1 shows them.
    return getLlama({ gpu, logLevel: debugEnabled() ? LlamaLogLevel.warn : LlamaLogLevel.disabled });
  })();
  try {
    return await llamaPromise;
  } catch (error) {
    llamaPromise = undefined;
    throw new UserError(
      `cannot start the local llama.cpp engine (${(error as Error).message}); use a hosted model (PERSONA_AGENT_MODEL=openai:... / bedrock:...)`,
    );
  }
}

async function load(path: string, options: EngineOptions): Promise<LoadedModel> {
  const { LlamaChat } = await import("node-llama-cpp");
  const llama = await getEngine();
  const started = performance.now();
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path });
  } catch (error) {
    throw new UserError(
      `llama.cpp cannot load ${path} (${(error as Error).message}); set PERSONA_AGENT_MODEL=local:<another .gguf file>, or openai:... / bedrock:...`,
    );
  }
  const context = await model.createContext({
    contextSize: { max: options.contextSize ?? 8192 },
    threads: options.threads ?? defaultThreads(),
  });
  // The chat wrapper is resolved from the model's own chat template (tokenizer.chat_template).
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  const loadMs = performance.now() - started;

  let queue: Promise<unknown> = Promise.resolve();
  const grammars = new Map<string, Promise<LlamaGrammar>>();
  return {
    path,
    llama,
    model,
    context,
    chat,
    loadMs,
    exclusive<T>(work: () => Promise<T>): Promise<T> {
      const run = queue.then(work, work);
      queue = run.catch(() => undefined);
      return run;
    },
    grammar(schema) {
      const key = JSON.stringify(schema);
      let grammar = grammars.get(key);
      if (!grammar) grammars.set(key, (grammar = llama.createGrammarForJsonSchema(schema as never)));
      return grammar;
    },
  };
}

/** Loads `path` once per process (and per engine options); later calls share it. */
export function loadLocalModel(path: string, options: EngineOptions = {}): Promise<LoadedModel> {
  const key = JSON.stringify([path, options.contextSize, options.threads]);
  let model = loaded.get(key);
  if (!model) {
    model = load(path, options);
    loaded.set(key, model);
    model.catch(() => loaded.delete(key));
  }
  return model;
}

/** Frees every loaded model and the engine (tests, benchmarks, long-lived hosts switching models). */
export async function disposeLocalModels(): Promise<void> {
  const models = [...loaded.values()];
  loaded.clear();
  for (const m of await Promise.allSettled(models)) {
    if (m.status === "fulfilled") await m.value.model.dispose();
  }
  const llama = llamaPromise;
  llamaPromise = undefined;
  if (llama) await (await llama).dispose();
}
