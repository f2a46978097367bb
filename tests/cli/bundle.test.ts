/**
 * What each command loads from the bundles in dist/ (esbuild's metafiles, written by the
 * build): `--help` only commander and the command table, `persona` only the store; neither any
 * of LangChain/LangGraph, which take most of a command's start-up; `ask` no AWS SDK. A module loads when one that
 * loads imports it statically; a lazy import() loads it only when its command runs. Start-up
 * times themselves are measured by bench/cli-startup.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type Inputs = Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
const meta = JSON.parse(readFileSync(fileURLToPath(new URL("../../dist/meta.json", import.meta.url)), "utf8")) as Record<"boot" | "launcher" | "all", { inputs: Inputs }>;

/** Sources and external packages loaded with `modules` (static imports followed, import() not). */
function loadedWith(inputs: Inputs, ...modules: string[]): { sources: string[]; externals: string[] } {
  const sources = new Set<string>();
  const externals = new Set<string>();
  const pending = [...modules];
  for (const module of modules) expect(inputs[module]).toBeDefined();
  while (pending.length > 0) {
    const source = pending.pop()!;
    if (sources.has(source)) continue;
    sources.add(source);
    for (const { path, kind, external } of inputs[source]!.imports) {
      if (kind !== "import-statement" && kind !== "require-call") continue;
      if (external) externals.add(path);
      else pending.push(path);
    }
  }
  // "<runtime>": esbuild's own helpers.
  return { sources: [...sources], externals: [...externals].filter((e) => !e.startsWith("node:") && e !== "<runtime>") };
}

const packagesOf = (sources: string[]) => [...new Set(sources.map((s) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1]).filter(Boolean))];

test("--help (the launcher) loads commander and the command table, nothing else from node_modules", () => {
  const { sources, externals } = loadedWith(meta.launcher.inputs, "src/cli/launcher.ts");
  expect(sources).toEqual(expect.arrayContaining(["src/cli/program.ts", "src/cli/commands/ask.ts", "src/cli/eval-command.ts"]));
  expect(packagesOf(sources)).toEqual(["commander"]);
  expect(externals).toEqual([]);
});

test("the entry (boot) loads no package before the launcher has parsed the command line", () => {
  const { sources, externals } = loadedWith(meta.boot.inputs, "src/cli/boot.ts");
  expect(sources).toContain("src/cli/code-cache.ts");
  expect(packagesOf(sources)).toEqual([]);
  expect(externals).toEqual([]);
});

test("persona (in the whole CLI) loads the store without LangChain or LangGraph", () => {
  const { sources, externals } = loadedWith(meta.all.inputs, "src/cli/program.ts", "src/cli/session.ts", "src/persona/persona.ts");
  expect(sources).toContain("src/store/sqlite-store.ts");
  // BaseStore's own module of the checkpoint package, not its index (which loads @langchain/core).
  expect(sources.filter((s) => s.startsWith("node_modules/@langchain/"))).toEqual(["node_modules/@langchain/langgraph-checkpoint/dist/store/base.js"]);
  expect(packagesOf(sources).sort()).toEqual(["@langchain/langgraph-checkpoint", "commander"]);
  expect(externals).toEqual(["better-sqlite3"]);
});

test("ask's modules are in the whole CLI, not loaded before a command runs", () => {
  const { sources } = loadedWith(meta.all.inputs, "src/cli/program.ts");
  expect(meta.all.inputs["graphs/persona_agent.ts"]).toBeDefined();
  expect(sources).not.toContain("graphs/persona_agent.ts");
  expect(packagesOf(sources)).toEqual(["commander"]);
});

test.each(["all.cjs", "launcher.cjs"])("the CommonJS bundle %s is ASCII (read as a one-byte string)", (name) => {
  const bundle = readFileSync(fileURLToPath(new URL(`../../dist/cli/${name}`, import.meta.url)));
  expect(bundle.findIndex((byte) => byte > 0x7f)).toBe(-1);
});

test("ask loads no AWS SDK: Bedrock's client and HTTP handler load with the bedrock provider only", () => {
  const { sources, externals } = loadedWith(meta.all.inputs, "src/cli/program.ts", "src/cli/session.ts", "src/services.ts", "src/conversation.ts", "graphs/persona_agent.ts");
  expect(sources).toContain("src/models/chat.ts");
  expect(sources).not.toContain("src/models/aws.ts");
  expect(externals.filter((e) => e.startsWith("@smithy/") || e.startsWith("@aws-sdk/"))).toEqual([]);
});
