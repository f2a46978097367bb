/**
 * Entry of the compiled CLI (scripts/build.mjs bundles it as dist/cli/boot.cjs, which bin/
 * requires). It parses the command line with the launcher (launcher.ts: commander and the
 * command table, one CommonJS bundle started from V8's code cache), then runs the command:
 * `persona`, which loads no LangChain, from its own small ES module chunks (dist/cli/light.js);
 * every other command from the whole CLI in one code-cached CommonJS bundle (dist/cli/all.cjs,
 * code-cache.ts), less to compile than its modules one by one. So `--help` and usage errors
 * never start Node's ES module loader. In a source checkout bin/ runs main.ts through tsx.
 */
import { fileURLToPath } from "node:url";
import { codeCacheDir } from "../settings.js";
import { loadBundle } from "./code-cache.js";
import type { Parsed } from "./launcher.js";

/** Commands run from ES module chunks (tests/cli/bundle.test.ts checks that they load no LangChain). */
const LIGHT_COMMANDS = new Set(["persona"]);

const cacheDir = codeCacheDir();
const bundle = (name: string, command: string) =>
  loadBundle(fileURLToPath(new URL(name, import.meta.url)), { cacheDir, command, hostImport: (specifier) => import(specifier) });

async function run(argv: string[]): Promise<number> {
  const parsed = await (bundle("launcher.cjs", "launcher") as { parse(argv: string[]): Promise<Parsed> }).parse(argv);
  if ("exitCode" in parsed) return parsed.exitCode;
  // The build points this import at dist/cli/light.js, program.ts bundled as ES module chunks.
  if (LIGHT_COMMANDS.has(parsed.run)) return (await import("./program.js")).main(argv);
  return (bundle("all.cjs", parsed.run) as { main(argv: string[]): Promise<number> }).main(argv);
}

void run(process.argv).then((code) => {
  process.exitCode = code;
});
