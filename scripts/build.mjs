// `npm run build` (also run by `npm install` / `npm ci` through `prepare`, and before the tests):
// bundles the CLI into dist/cli/, which bin/persona-agent.js (CommonJS) runs. Bundled, Node
// reads a few files instead of ~2,000 modules; compiling them is then most of a command's
// start-up, so the bundles are CommonJS, which Node 20 lets V8 compile from a code cache
// (vm.Script, src/cli/code-cache.ts) while it has none for ES modules:
//   - dist/cli/boot.cjs (src/cli/boot.ts): starts the launcher, then the whole CLI;
//   - dist/cli/launcher.cjs (src/cli/launcher.ts): commander and the command table, which parse
//     the command line, so `--help` and usage errors load nothing else;
//   - dist/cli/all.cjs (src/cli/program.ts): the whole CLI, what every command runs. Modules a
//     command imports lazily initialize lazily, so `persona` loads no LangChain;
//   - native addons and packages that load files beside themselves stay in node_modules;
//   - dist/prompts links to prompts/: src/prompts.ts finds them next to its own folder;
//   - dist/meta.json holds esbuild's metafiles of the bundles (tests/cli/bundle.test.ts checks
//     what `--help`, `persona` and `ask` load);
//   - dist/.built is written last, so bin/ can tell a finished build from a stale or broken one:
//     it lists the build's start time and the checkout's source files in the bundles.
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = `${root}dist`;
const stamp = `${dist}/.built`;
const startedAt = Date.now(); // a source saved during the build counts as newer than it
rmSync(stamp, { force: true });
rmSync(`${dist}/cli`, { recursive: true, force: true });

const EXTERNAL = [
  "better-sqlite3", // native
  "faiss-node", // native
  "node-llama-cpp", // native, loads its binaries and grammars from its own folder
  "@energetic-ai/*", // TensorFlow.js and the USE model files, read from the package folder
  "pg", // optionally requires pg-native
  "@aws-sdk/*", // large and needed only for Bedrock; loaded on first use from node_modules
  "@smithy/*",
  "js-tiktoken",
  "tsx",
  "@resvg/*", // native (the report's PNG rasterizer)
];

/**
 * SqliteStore needs only BaseStore and the namespace checks, which @langchain/langgraph-checkpoint
 * defines in a module without imports (dist/store/base.js); its index also loads the checkpoint
 * serializer and with it all of @langchain/core. The store module gets that one file, the same
 * one the index re-exports (one BaseStore class in the bundle), so `persona` loads no LangChain.
 */
const storeBaseOnly = {
  name: "store-base-only",
  setup(build) {
    build.onResolve({ filter: /^@langchain\/langgraph-checkpoint$/ }, async (args) => {
      if (!args.importer.endsWith(join("src", "store", "sqlite-store.ts")) || args.pluginData) return undefined;
      const index = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: true });
      const base = join(dirname(index.path), "store", "base.js");
      if (!existsSync(base)) return { errors: [{ text: `${base} is missing: @langchain/langgraph-checkpoint changed its layout; update scripts/build.mjs` }] };
      return { path: base };
    });
  },
};

/**
 * vega-canvas's Node build awaits import("canvas") at its top level, which a CommonJS bundle
 * cannot hold; its browser build is the same without node-canvas (not a dependency here):
 * canvas() returns null and vega measures text by its estimates, as it does in Node without it.
 */
const vegaCanvasWithoutCanvas = {
  name: "vega-canvas-without-canvas",
  setup(build) {
    build.onResolve({ filter: /^vega-canvas$/ }, async (args) => {
      if (args.pluginData) return undefined;
      const node = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: true });
      const browser = join(dirname(node.path), "vega-canvas.browser.js");
      if (!existsSync(browser)) return { errors: [{ text: `${browser} is missing: vega-canvas changed its layout; update scripts/build.mjs` }] };
      return { path: browser };
    });
  },
};

/**
 * commander requires child_process when it loads (for executable subcommands, which this CLI
 * has none of), and with it net, dgram and the stream modules: it gets one that loads on use.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${join("node_modules", "commander")}`) ? { path: "child_process", namespace: "lazy-child-process" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "lazy-child-process" }, () => ({
      contents: 'let loaded; module.exports = new Proxy({}, { get: (_, name) => (loaded ??= require("node:child_process"))[name] });',
      loader: "js",
    }));
  },
};

const common = {
  absWorkingDir: root, // metafile paths are relative to the checkout
  outdir: `${dist}/cli`,
  bundle: true,
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  sourcemap: "linked",
  // Less source to parse at every start; keepNames because error handling reads class names
  // (OpenAI/AWS error classes, LangGraph store classes), which renaming would change.
  minify: true,
  keepNames: true,
  metafile: true,
  logLevel: "warning",
};

/** The launcher hands every action over before it runs: its lazy imports stay out of its bundle, never run. */
const lazyImportsLeftOut = {
  name: "lazy-imports-left-out",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined));
  },
};

/**
 * The whole CLI's import() of external packages (native addons, node-llama-cpp, which is an ES
 * module) becomes __hostImport(): vm.Script code has no import() of its own (code-cache.ts).
 */
function routeDynamicImports(file, metafile) {
  const externals = new Set(
    Object.values(metafile.inputs).flatMap(({ imports }) => imports.filter((i) => i.kind === "dynamic-import" && i.external).map((i) => i.path)),
  );
  let code = readFileSync(file, "utf8");
  for (const specifier of externals) {
    const call = `import(${JSON.stringify(specifier)})`;
    if (!code.includes(call)) throw new Error(`${file}: expected ${call} in the bundle`);
    code = code.replaceAll(call, `__hostImport(${JSON.stringify(specifier)})`);
  }
  if (/(?<![\w$.])import\("/.test(code)) throw new Error(`${file}: an import() of a literal is left that vm.Script cannot run`);
  writeFileSync(file, asciiOnly(code));
}

/**
 * esbuild escapes non-ASCII characters except in regular expression literals; escaped there too
 * (the same characters to the regex), the bundle is ASCII, which Node reads and V8 holds as a
 * one-byte string, several times faster than a two-byte one of the same 3 MB.
 */
function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** CommonJS bundle options: import.meta.url of every module is the bundle's URL, as in the ES module chunks beside it. */
const commonJs = {
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
};

let boot, launcher, all;
try {
  ({ metafile: boot } = await build({
    ...common,
    ...commonJs,
    entryPoints: { boot: `${root}src/cli/boot.ts` },
  }));
  ({ metafile: launcher } = await build({
    ...common,
    ...commonJs,
    entryPoints: { launcher: `${root}src/cli/launcher.ts` },
    plugins: [lazyChildProcess, lazyImportsLeftOut],
  }));
  ({ metafile: all } = await build({
    ...common,
    ...commonJs,
    entryPoints: { all: `${root}src/cli/program.ts` },
    plugins: [storeBaseOnly, lazyChildProcess, vegaCanvasWithoutCanvas],
  }));
  writeFileSync(`${dist}/cli/launcher.cjs`, asciiOnly(readFileSync(`${dist}/cli/launcher.cjs`, "utf8")));
  routeDynamicImports(`${dist}/cli/all.cjs`, all);
} catch (error) {
  if (!error.errors) process.stderr.write(`${error.message}\n`);
  process.stderr.write("build: esbuild failed (see above)\n");
  process.exit(1);
}
mkdirSync(dist, { recursive: true });
writeFileSync(`${dist}/meta.json`, JSON.stringify({ boot, launcher, all }));
const link = `${dist}/prompts`;
try {
  lstatSync(link);
} catch {
  symlinkSync("../prompts", link, "dir");
}
const sources = [...new Set([boot, launcher, all].flatMap((metafile) => Object.keys(metafile.inputs)))].filter((path) => !path.startsWith("node_modules/") && !path.includes(":"));
writeFileSync(stamp, `${JSON.stringify({ startedAt, sources })}\n`);
