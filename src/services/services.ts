/**
 * The parts a graph run needs, built from its configuration and the store LangGraph hands
 * it (the CLI's SQLite store, PostgreSQL, or LangGraph Platform's own). Episodic memories
 * are cached per store and embedding model, so FAISS indexes stay loaded between runs.
 */
import type { BaseStore, LangGraphRunnableConfig } from "@langchain/langgraph";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import {
  CONFIGURATION_KEYS,
  ensureConfiguration,
  givenConfiguration,
  type Configuration,
} from "../configuration/configuration.js";
import { createChatModel } from "../models/chat.js";
import { createEmbeddings } from "../models/embeddings.js";
import { EpisodicMemory } from "../memory/episodic.js";
import { SemanticMemory } from "../memory/semantic.js";
import { PersonaStore } from "../persona/persona.js";
import { unwrapStore } from "../adapters/batched-store.js";
import { settingsFromEnv } from "../configuration/settings.js";

export interface Services {
  config: Configuration;
  store: BaseStore;
  memory: EpisodicMemory;
  semantic: SemanticMemory;
  personas: PersonaStore;
  /** The run's chat model, created on first use (reading a persona needs no model or key), then the same one. */
  chatModel(): Promise<BaseChatModel>;
}

const memories = new WeakMap<BaseStore, Map<string, EpisodicMemory>>();

/** Memory bounds of the loaded FAISS indexes (default: the settings); fixed by the first call for a store and model. */
export interface IndexBounds {
  maxCachedIndexes?: number;
  maxCachedVectors?: number;
}

export function episodicMemoryFor(
  given: BaseStore,
  config: Pick<Configuration, "embeddings" | "indexDir" | "timeoutMs" | "maxRetries"> & IndexBounds,
): EpisodicMemory {
  // Every (sub)graph run wraps the store anew; keying on the wrapper would reload the index each run.
  const store = unwrapStore(given);
  let byModel = memories.get(store);
  if (!byModel) memories.set(store, (byModel = new Map()));
  const key = `${config.embeddings}\u0000${config.indexDir ?? ""}`;
  let memory = byModel.get(key);
  if (!memory) {
    const settings = settingsFromEnv();
    memory = new EpisodicMemory(store, () => createEmbeddings(config.embeddings, config), {
      embeddingsId: config.embeddings,
      indexDir: config.indexDir,
      // The operator's bounds unless the caller (a benchmark, an embedding host) gives its own.
      maxCachedIndexes: config.maxCachedIndexes ?? settings.maxCachedIndexes,
      maxCachedVectors: config.maxCachedVectors ?? settings.maxCachedVectors,
    });
    byModel.set(key, memory);
  }
  return memory;
}

export async function chatModelFor(config: Configuration): Promise<BaseChatModel> {
  return typeof config.model === "string" ? createChatModel(config.model, config) : config.model;
}

/**
 * The services of one graph run, made by its first node and reused by the others (and by every
 * agent turn of the run). LangGraph wraps the store anew for each (sub)graph run, so the wrapper
 * names the run; the configuration the run was given is compared too, so a run never gets
 * another's services. Outside a graph (the CLI, the eval harness) every call makes its own.
 */
const runServices = new WeakMap<BaseStore, { given: unknown[]; services: Services }>();

/** A node's services; a node that already resolved its (extended) configuration passes it, so it is resolved once. */
export function servicesFor(runConfig: LangGraphRunnableConfig, config?: Configuration): Services {
  const store = runConfig.store;
  if (!store)
    throw new Error(
      "persona-agent graphs need a LangGraph store: compile them with { store } or run them on LangGraph Platform",
    );
  const perRun = unwrapStore(store) !== store;
  const run = givenConfiguration(runConfig);
  const given = CONFIGURATION_KEYS.map((key) => run[key]);
  const cached = perRun ? runServices.get(store) : undefined;
  if (cached && cached.given.every((value, i) => value === given[i])) return cached.services;
  const services = createServices(store, config ?? ensureConfiguration(runConfig));
  if (perRun) runServices.set(store, { given, services });
  return services;
}

function createServices(store: BaseStore, config: Configuration): Services {
  let model: Promise<BaseChatModel> | undefined;
  return {
    config,
    store,
    memory: episodicMemoryFor(store, config),
    semantic: new SemanticMemory(store),
    personas: new PersonaStore(store, config.promptSet),
    chatModel: () => (model ??= chatModelFor(config)),
  };
}
