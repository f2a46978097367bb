/**
 * What each command loads from the bundle in dist/ (esbuild's metafile, written by the build):
 * `--help` only commander and the command table, none of LangChain/LangGraph, which take most of
 * a command's start-up; `ask` no AWS SDK. A module loads when one that loads imports it
 * statically; a lazy import() is a chunk of its own, loaded only when its command runs.
 * Start-up times themselves are measured by bench/cli-startup.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

type Inputs = Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
const { inputs } = JSON.parse(
  readFileSync(fileURLToPath(new URL("../../dist/meta.json", import.meta.url)), "utf8"),
) as { inputs: Inputs };

/** Sources and external packages loaded with `modules` (static imports followed, import() not). */
function loadedWith(...modules: string[]): { sources: string[]; externals: string[] } {
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
  return {
    sources: [...sources],
    externals: [...externals].filter((e) => !e.startsWith("node:") && e !== "<runtime>"),
  };
}

const packagesOf = (sources: string[]) => [
  ...new Set(sources.map((s) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1]).filter(Boolean)),
];

test("--help (the entry) loads commander and the command table, nothing else from node_modules", () => {
  const { sources, externals } = loadedWith("apps/cli/main.ts");
  expect(sources).toEqual(
    expect.arrayContaining(["apps/cli/program.ts", "apps/cli/commands/ask.ts", "apps/cli/eval-command.ts"]),
  );
  expect(packagesOf(sources)).toEqual(["commander"]);
  expect(externals).toEqual([]);
});

test("persona loads the store and no LangGraph, model or FAISS", () => {
  const { sources, externals } = loadedWith("apps/cli/main.ts", "apps/cli/session.ts", "src/persona/persona.ts");
  expect(sources).toContain("src/store/sqlite-store.ts");
  expect(sources.filter((s) => /^node_modules\/@langchain\/(langgraph|openai|aws|community)\//.test(s))).toEqual([]);
  expect(externals).toEqual(expect.arrayContaining(["better-sqlite3"]));
  expect(
    externals.filter((e) => ["faiss-node", "node-llama-cpp"].includes(e) || e.startsWith("@energetic-ai/")),
  ).toEqual([]);
});

test("ask's modules are in the bundle, not loaded before a command runs", () => {
  const { sources } = loadedWith("apps/cli/main.ts");
  expect(inputs["graphs/persona_agent.ts"]).toBeDefined();
  expect(sources).not.toContain("graphs/persona_agent.ts");
  expect(packagesOf(sources)).toEqual(["commander"]);
});

test("ask loads no AWS SDK: Bedrock's client and HTTP handler load with the bedrock provider only", () => {
  const { sources, externals } = loadedWith(
    "apps/cli/main.ts",
    "apps/cli/session.ts",
    "src/services/services.ts",
    "src/agent/conversation.ts",
    "graphs/persona_agent.ts",
  );
  expect(sources).toContain("src/models/chat.ts");
  expect(sources).not.toContain("src/models/aws.ts");
  expect(externals.filter((e) => e.startsWith("@smithy/") || e.startsWith("@aws-sdk/"))).toEqual([]);
});
