/**
 * What the user commands share once they run: the user's services on an open store, and the
 * alignment graph. Commands import this lazily, so `--help` and usage errors never load it.
 */
import { join } from "node:path";
import type { Command } from "commander";
import { builder as alignmentBuilder } from "../../graphs/alignment.js";
import { summarizeAlignment, type AlignmentSummary } from "../alignment/run.js";
import type { Configuration } from "../configuration.js";
import { servicesFor, type Services } from "../services.js";
import { openPersistence, type Persistence } from "../store/open.js";
import { validateUserId } from "../users.js";
import { resolveSettings } from "./shared.js";

/** Opens the store and checkpointer, runs `fn` with the user's services, and always closes them. */
export async function withUser<T>(
  command: Command,
  userId: string,
  overrides: Partial<Configuration>,
  fn: (services: Services, persistence: Persistence) => Promise<T>,
): Promise<T> {
  const settings = resolveSettings(command);
  validateUserId(userId);
  const persistence = await openPersistence(settings);
  const { store } = persistence;
  try {
    const configurable: Partial<Configuration> = {
      userId,
      model: settings.model,
      embeddings: settings.embeddings,
      indexDir: join(settings.dataDir, "indexes"),
      promptSet: settings.promptSet,
      ...overrides,
    };
    return await fn(servicesFor({ configurable, store }), persistence);
  } finally {
    await persistence.close();
  }
}

export interface AlignOptions {
  batch?: number;
  iterations?: number;
  validate?: boolean;
}

/** Runs the alignment graph on the embedded store with the command's settings. */
export async function align(services: Services, { store }: Persistence, opts: AlignOptions): Promise<AlignmentSummary> {
  const graph = alignmentBuilder.compile({ store });
  const configurable = { ...services.config, batchSize: opts.batch, iterations: opts.iterations, validate: Boolean(opts.validate) };
  return summarizeAlignment(await graph.invoke({ userId: services.config.userId }, { configurable }));
}
