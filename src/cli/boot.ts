/**
 * Entry of the compiled CLI (scripts/build.mjs bundles it as dist/cli/boot.cjs, which bin/
 * requires). It parses the command line with the launcher (launcher.ts: commander and the
 * command table), then runs the command with the whole CLI (dist/cli/all.cjs), both CommonJS
 * bundles started from V8's code cache (code-cache.ts): less to compile than their modules one
 * by one, and `--help` and usage errors load nothing past the command table. In a source
 * checkout bin/ runs main.ts through tsx instead.
 */
import { fileURLToPath } from "node:url";
import { codeCacheDir } from "../settings.js";
import { loadBundle } from "./code-cache.js";
import type * as Launcher from "./launcher.js";

const cacheDir = codeCacheDir();
const bundle = (name: string, command: string) =>
  loadBundle(fileURLToPath(new URL(name, import.meta.url)), { cacheDir, command, hostImport: (specifier) => import(specifier) });

async function run(argv: string[]): Promise<number> {
  const launcher = bundle("launcher.cjs", "launcher") as Pick<typeof Launcher, "parse">;
  const parsed = await launcher.parse(argv);
  if ("exitCode" in parsed) return parsed.exitCode;
  return (bundle("all.cjs", parsed.run) as { main(argv: string[]): Promise<number> }).main(argv);
}

void run(process.argv).then((code) => {
  process.exitCode = code;
});
