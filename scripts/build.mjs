// `npm run build` (also run by `npm install` / `npm ci` through `prepare`): bundles the CLI
// (apps/cli/main.ts and everything it imports) into ES module chunks in dist/cli/, which
// bin/persona-agent.js runs. Bundled, Node reads a few files instead of ~2,000 modules. Each
// import() a command makes when it runs becomes a chunk of its own, loaded only then, so
// `--help` and usage errors load commander and the command table and nothing else.
//   - native addons and packages that read files beside themselves stay in node_modules;
//   - prompts/ is read where it is: src/prompts/prompts.ts and the bundle's chunks in dist/cli/ both
//     sit two folders below the root;
//   - dist/meta.json is esbuild's metafile (tests/cli/bundle.test.ts checks what commands load);
//   - dist/.built is written last, so bin/ can tell a finished build from a stale or broken one:
//     it lists the build's start time and the checkout's source files in the bundle.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
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
  "canvas", // vega-canvas tries it and does without; not a dependency
];

let metafile;
try {
  ({ metafile } = await build({
    absWorkingDir: root, // metafile paths are relative to the checkout
    entryPoints: { "persona-agent": `${root}apps/cli/main.ts` },
    outdir: `${dist}/cli`,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    sourcemap: "linked",
    // Less source to parse at every start; keepNames because error handling reads class names
    // (OpenAI/AWS error classes, LangGraph store classes), which renaming would change.
    minify: true,
    keepNames: true,
    // CommonJS packages inside an ES module bundle still call require().
    banner: {
      js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);',
    },
    metafile: true,
    logLevel: "warning",
  }));
} catch {
  process.stderr.write("build: esbuild failed (see above)\n");
  process.exit(1);
}
mkdirSync(dist, { recursive: true });
writeFileSync(`${dist}/meta.json`, JSON.stringify(metafile));
const sources = Object.keys(metafile.inputs).filter((path) => !path.startsWith("node_modules/") && !path.includes(":"));
writeFileSync(stamp, `${JSON.stringify({ startedAt, sources })}\n`);
