/**
 * What each command loads from the bundle in dist/ (esbuild's metafile, written by the build):
 * `--help` only commander and the command table, `persona` only the store; neither any of
 * LangChain/LangGraph, which take most of a command's start-up. Start-up times themselves are
 * measured by bench/cli-startup.ts.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Metafile {
  outputs: Record<string, { entryPoint?: string; imports: { path: string; kind: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
}

const meta = JSON.parse(readFileSync(fileURLToPath(new URL("../../dist/meta.json", import.meta.url)), "utf8")) as Metafile;

/** Sources and external packages loaded when the chunks of `entryPoints` load (static imports only; lazy import()s are not followed). */
function loadedBy(...entryPoints: string[]): { sources: string[]; externals: string[] } {
  const starts = Object.keys(meta.outputs).filter((out) => entryPoints.includes(meta.outputs[out]!.entryPoint ?? ""));
  expect(starts).toHaveLength(entryPoints.length);
  const seen = new Set<string>();
  const externals = new Set<string>();
  const pending = [...starts];
  while (pending.length > 0) {
    const out = pending.pop()!;
    if (seen.has(out)) continue;
    seen.add(out);
    for (const { path, kind, external } of meta.outputs[out]!.imports) {
      if (kind !== "import-statement") continue;
      if (external) externals.add(path);
      else pending.push(path);
    }
  }
  return { sources: [...seen].flatMap((out) => Object.keys(meta.outputs[out]!.inputs)), externals: [...externals] };
}

const packageOf = (source: string) => /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];

test("--help loads commander and the command table, nothing else from node_modules", () => {
  const { sources, externals } = loadedBy("src/cli/main.ts");
  expect(sources).toContain("src/cli/program.ts");
  expect(sources).toContain("src/cli/commands/ask.ts");
  expect([...new Set(sources.map(packageOf).filter(Boolean))]).toEqual(["commander"]);
  expect(externals.filter((e) => !e.startsWith("node:"))).toEqual([]);
});

test("persona loads the store without LangChain or LangGraph", () => {
  const { sources, externals } = loadedBy("src/cli/main.ts", "src/cli/session.ts", "src/persona/persona.ts");
  expect(sources).toContain("src/store/sqlite-store.ts");
  const packages = new Set(sources.map(packageOf).filter(Boolean));
  // BaseStore's own module of the checkpoint package, not its index (which loads @langchain/core).
  expect(sources.filter((s) => packageOf(s) === "@langchain/langgraph-checkpoint")).toEqual(["node_modules/@langchain/langgraph-checkpoint/dist/store/base.js"]);
  expect([...packages].filter((p) => p!.startsWith("@langchain/") && p !== "@langchain/langgraph-checkpoint")).toEqual([]);
  expect(packages.has("langsmith")).toBe(false);
  expect(externals.filter((e) => !e.startsWith("node:"))).toEqual(["better-sqlite3"]);
});
