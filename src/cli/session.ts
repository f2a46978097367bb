/**
 * What the user commands share once they run: the user's services on an open store, and the
 * alignment graph. Commands import this lazily, so `--help` and usage errors never load it.
 */
import type { Command } from "commander";
import type { AlignmentSummary } from "../alignment/run.js";
import type { Configuration } from "../configuration.js";
import type { Services } from "../services.js";
import { openPersistence, openStore, type OpenStore, type Persistence } from "../store/open.js";
import { validateUserId } from "../users.js";
import { validateSettings, type Settings } from "../settings.js";
import { resolveSettings } from "./shared.js";

/** Opens the store and checkpointer for one user's command, runs `fn`, and always closes them. */
export function withPersistence<T>(command: Command, userId: string, fn: (persistence: Persistence) => Promise<T>): Promise<T> {
  return withOpened(command, userId, openPersistence, fn);
}

/** As withPersistence, for a command that needs only the store (no conversation threads). */
export function withStore<T>(command: Command, userId: string, fn: (opened: OpenStore) => Promise<T>): Promise<T> {
  return withOpened(command, userId, openStore, fn);
}

async function withOpened<O extends OpenStore, T>(command: Command, userId: string, open: (settings: Settings) => Promise<O>, fn: (opened: O) => Promise<T>): Promise<T> {
  const settings = validateSettings(resolveSettings(command), { credentials: false });
  validateUserId(userId);
  const opened = await open(settings);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

/** As withPersistence, with the user's services (memory, models, personas) built on the store. */
export async function withUser<T>(
  command: Command,
  userId: string,
  overrides: Partial<Configuration>,
  fn: (services: Services, persistence: Persistence) => Promise<T>,
): Promise<T> {
  const settings = validateSettings(resolveSettings(command));
  const [{ servicesFor }, { configurationFrom }, { asUserRun }] = await Promise.all([import("../services.js"), import("../configuration.js"), import("../store/lifecycle.js")]);
  return withPersistence(command, userId, async (persistence) => {
    const configurable = configurationFrom(settings, { userId, ...overrides });
    // One run of the user: a forget by another process after this point refuses its later writes.
    return asUserRun(persistence.store, userId, () => fn(servicesFor({ configurable, store: persistence.store }), persistence));
  });
}

export interface AlignOptions {
  batch?: number;
  iterations?: number;
  validate?: boolean;
}

/** Runs the alignment graph on the embedded store with the command's settings. */
export async function align(services: Services, { store }: Persistence, opts: AlignOptions): Promise<AlignmentSummary> {
  const [{ builder: alignmentBuilder }, { alignmentRecursionLimit, ensureAlignmentConfiguration }] = await Promise.all([
    import("../../graphs/alignment.js"),
    import("../alignment/configuration.js"),
  ]);
  const graph = alignmentBuilder.compile({ store });
  const configurable = { ...services.config, batchSize: opts.batch, iterations: opts.iterations, validate: Boolean(opts.validate) };
  const { iterations, validate } = ensureAlignmentConfiguration({ configurable }); // bounds checked before any step
  return (await graph.invoke({}, { configurable, recursionLimit: alignmentRecursionLimit(iterations, validate) })).alignment!;
}
