/** `persona-agent persona`: the user's current persona, or every version with what changed. */
import type { Command } from "commander";
import { print } from "../shared.js";

export function registerPersona(program: Command): void {
  program
    .command("persona")
    .description("show the user's current persona (and its versions)")
    .requiredOption("--user <id>", "user id")
    .option("--history", "show every version")
    .option("--json", 'print {"version", "persona", "history": [{"version", "createdAt", "origin", "persona"}]}')
    .action(async (opts: { user: string; history?: boolean; json?: boolean }, command: Command) => {
      // Only the store: showing a persona needs no model, embeddings or graph.
      const [{ lineDiff, PersonaStore }, { withStore }, { staleProfileWarning }] = await Promise.all([
        import("../../../src/persona/persona.js"),
        import("../session.js"),
        import("../../../src/memory/stale.js"),
      ]);
      const { current, history, stale } = await withStore(command, opts.user, async ({ store }) => {
        const personas = new PersonaStore(store);
        const current = await personas.current(opts.user);
        if (!current) {
          // Rare path: only then load the memory module, to tell an unknown user from an unfinished ingest.
          const [{ unknownUserError }, { storedMemoryCount }] = await Promise.all([
            import("../../../src/memory/ingest.js"),
            import("../../../src/memory/episodic.js"),
          ]);
          throw await unknownUserError(
            { count: (userId) => storedMemoryCount(store, userId) },
            opts.user,
            "no persona yet (run persona-agent ingest first)",
          );
        }
        return {
          current,
          history: await personas.history(opts.user),
          stale: await staleProfileWarning(store, opts.user),
        };
      });
      if (stale) process.stderr.write(`persona-agent: ${stale}\n`);
      const versions = history.map(({ version, createdAt, persona, origin }) => ({
        version,
        createdAt,
        origin,
        persona,
      }));
      // Each version with its time, origin and what changed against the one before.
      const text = opts.history
        ? versions
            .map((v, i) => {
              const changes =
                i === 0 ? v.persona : lineDiff(versions[i - 1]!.persona, v.persona).join("\n") || "(no change)";
              return `--- v${v.version} (${v.origin}, ${v.createdAt})\n${changes}`;
            })
            .join("\n\n")
        : `v${current.version} (${current.origin}, ${current.createdAt})\n${current.persona}`;
      print(Boolean(opts.json), { version: current.version, persona: current.persona, history: versions }, text);
    });
}
