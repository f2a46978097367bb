/**
 * The layers, each importing only the ones below it:
 *   src/     the core (agent, alignment, persona, memory, tools, models, store, prompts,
 *            configuration, services, users, errors): never imports graphs/ or apps/;
 *   graphs/  wiring only, what langgraph.json serves: imports the core, never apps/;
 *   apps/    the applications on top: the CLI (apps/cli, which runs the evaluation too), the
 *            evaluation harness (apps/eval) and the LangGraph server's auth (apps/server).
 * Beside them, bench/ and the shared fakes in testing/ never reach into tests/. Imports are read
 * with TypeScript's own parser: import and export ... from, import(), require(), import types.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|mts|cts|js|mjs|cjs)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Repository paths a file imports (relative specifiers; packages are not a layer). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

/** The layer a path belongs to: `src`, `graphs`, `apps/<app>` or its top-level folder. */
function layerOf(path: string): string {
  const [top, part] = path.split("/");
  return top === "apps" ? `apps/${part}` : top!;
}

/** What each layer may not import. */
const FORBIDDEN: Record<string, RegExp> = {
  src: /^(graphs|apps|tests|testing|bench|scripts)(\/|$)/,
  graphs: /^(apps|tests|testing|bench|scripts)(\/|$)/,
  "apps/eval": /^(apps\/(cli|server)|tests|testing|bench|scripts)(\/|$)/,
  "apps/server": /^(apps\/(cli|eval)|tests|testing|bench|scripts)(\/|$)/,
  "apps/cli": /^(apps\/server|tests|testing|bench|scripts)(\/|$)/,
  testing: /^(tests|bench)(\/|$)/,
  bench: /^tests(\/|$)/,
};

const edges = ["src", "graphs", "apps", "testing", "bench"]
  .flatMap(sources)
  .flatMap((file) => importsOf(file).map((target) => ({ file, target })));

test("each layer imports only the layers below it", () => {
  const wrong = edges
    .filter(({ file, target }) => FORBIDDEN[layerOf(file)]?.test(target))
    .map(({ file, target }) => `${file} imports ${target}`);
  expect(wrong).toEqual([]);
});

test("the parser sees the imports the layers are made of", () => {
  // If reading imports broke, the test above would pass on nothing: the layers' own edges must be seen.
  const seen = (from: string, to: string) =>
    edges.some(({ file, target }) => layerOf(file) === from && layerOf(target) === to);
  expect([
    seen("graphs", "src"),
    seen("apps/cli", "graphs"),
    seen("apps/cli", "apps/eval"),
    seen("apps/eval", "graphs"),
    seen("apps/server", "src"),
  ]).toEqual([true, true, true, true, true]);
  expect(new Set(sources("src").map(layerOf))).toEqual(new Set(["src"]));
});

test("every file under src/ and apps/ sits in a part (no loose files at their roots)", () => {
  const loose = ["src", "apps"].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => `${dir}/${e.name}`),
  );
  expect(loose).toEqual([]);
});

test("every app under apps/ is one the layers know", () => {
  const apps = readdirSync(join(ROOT, "apps"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `apps/${e.name}`);
  expect(apps.filter((app) => !(app in FORBIDDEN))).toEqual([]);
});
