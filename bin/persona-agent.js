#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm install` / `npm ci` / `npm run build`).
// In a source checkout whose dist/ is missing or older than a source it was built from, it runs
// the TypeScript through tsx instead, so an edit is never hidden behind a stale build.
// CommonJS (bin/package.json): a command that needs no ES module never starts Node's ES module
// loader.
const { readFileSync, statSync } = require("node:fs");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

const root = join(__dirname, "..");

/**
 * dist/.built (written last by scripts/build.mjs) holds the build's start time and every source
 * file the bundle holds: one stat per file, instead of walking src/ at every start. A file new
 * to the bundle comes in through an edit of a listed one, and a deleted one fails its stat.
 */
function builtAndCurrent() {
  try {
    const { startedAt, sources } = JSON.parse(readFileSync(join(root, "dist", ".built"), "utf8"));
    return sources.length > 0 && sources.every((path) => statSync(join(root, path)).mtimeMs < startedAt);
  } catch {
    return false; // no finished build (or one from before this format), or a source gone
  }
}

if (builtAndCurrent()) {
  require("../dist/cli/boot.cjs");
} else {
  (async () => {
    const { register } = await import("tsx/esm/api");
    register();
    await import(pathToFileURL(join(root, "src", "cli", "main.ts")).href);
  })();
}
