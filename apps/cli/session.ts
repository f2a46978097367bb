/**
 * What the user commands share once they run: the user's services on an open store, and the
 * alignment graph. Commands import this lazily, so `--help` and usage errors never load it.
 */
import type { Command } from "commander";
import type { AlignmentSummary } from "../../src/alignment/run.js";
import type { Configuration } from "../../src/configuration/configuration.js";
import type { Services } from "../../src/services/services.js";
import { openPersistence, openStore, type OpenStore, type Persistence } from "../../src/store/open.js";
import { validateUserId } from "../../src/users/users.js";
import { validateSettings, type Settings } from "../../src/configuration/settings.js";
import { resolveSettings, stepProgress } from "./shared.js";

/** Opens the store and checkpointer for one user's command, runs `fn`, and always closes them. */
export function withPersistence<T>(
  command: Command,
  userId: string,
  fn: (persistence: Persistence) => Promise<T>,
): Promise<T> {
  return withOpened(command, userId, openPersistence, fn);
}

/** As withPersistence, for a command that needs only the store (no conversation threads). */
export function withStore<T>(command: Command, userId: string, fn: (opened: OpenStore) => Promise<T>): Promise<T> {
  return withOpened(command, userId, openStore, fn);
}

async function withOpened<O extends OpenStore, T>(
  command: Command,
  userId: string,
  open: (settings: Settings) => Promise<O>,
  fn: (opened: O) => Promise<T>,
): Promise<T> {
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
  const [{ servicesFor }, { configurationFrom }, { asUserRun }] = await Promise.all([
    import("../../src/services/services.js"),
    import("../../src/configuration/configuration.js"),
    import("../../src/store/lifecycle.js"),
  ]);
  return withPersistence(command, userId, async (persistence) => {
    const configurable = configurationFrom(settings, { userId, ...overrides });
    // One run of the user: a forget by another process after this point refuses its later writes.
    return asUserRun(persistence.store, userId, () =>
      fn(servicesFor({ configurable, store: persistence.store }), persistence),
    );
  });
}

export interface AlignOptions {
  batch?: number;
  iterations?: number;
  validate?: boolean;
}

/** The user's configuration with the alignment options, checked against the operator's bounds (before anything is done). */
export async function alignmentConfiguration(services: Services, opts: AlignOptions) {
  const { ensureAlignmentConfiguration } = await import("../../src/alignment/configuration.js");
  const configurable = {
    ...services.config,
    batchSize: opts.batch,
    iterations: opts.iterations,
    validate: Boolean(opts.validate),
  };
  return { configurable, checked: ensureAlignmentConfiguration({ configurable }) };
}

const STEP_LABELS = {
  simulations: "simulations",
  gradients: "feedback (LLM_grad)",
  update: "persona update (LLM_update)",
  validation: "validation",
} as const;

/** Runs the alignment graph on the embedded store with the command's settings, showing its progress on stderr. */
export async function align(services: Services, { store }: Persistence, opts: AlignOptions): Promise<AlignmentSummary> {
  const [
    { builder: alignmentBuilder },
    { alignmentRecursionLimit },
    { alignmentProgress },
    { configurable, checked },
    progress,
  ] = await Promise.all([
    import("../../graphs/alignment.js"),
    import("../../src/alignment/configuration.js"),
    import("../../src/alignment/progress.js"),
    alignmentConfiguration(services, opts),
    stepProgress("alignment"),
  ]);
  const graph = alignmentBuilder.compile({ store });
  const onUpdate = alignmentProgress(checked, (p) =>
    progress.update(`iteration ${p.iteration}/${p.iterations}: ${STEP_LABELS[p.step]}`, p.done, p.total),
  );
  const updates = await graph.stream(
    {},
    {
      configurable,
      recursionLimit: alignmentRecursionLimit(checked.iterations, checked.validate),
      streamMode: "updates",
    },
  );
  let summary: AlignmentSummary | undefined;
  try {
    for await (const update of updates) {
      for (const [node, value] of Object.entries(update)) {
        onUpdate(node, value);
        summary = (value as { alignment?: AlignmentSummary } | null)?.alignment ?? summary;
      }
    }
  } finally {
    progress.stop();
  }
  return summary!;
}
