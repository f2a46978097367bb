#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm install` / `npm ci` / `npm run build`).
// In a source checkout whose dist/ is missing or older than a source it was built from, it runs
// the TypeScript through tsx instead, so an edit is never hidden behind a stale build.
import { readFileSync, statSync } from "node:fs";
import module from "node:module";

// Node 22+ keeps V8's compiled code of the modules between runs (Node 20 has no such cache).
module.enableCompileCache?.();

const root = new URL("../", import.meta.url);

/**
 * dist/.built (written last by scripts/build.mjs) holds the build's start time and every source
 * file the bundle holds: one stat per file, instead of walking src/ at every start. A file new
 * to the bundle comes in through an edit of a listed one, and a deleted one fails its stat.
 */
function builtAndCurrent() {
  try {
    const { startedAt, sources } = JSON.parse(readFileSync(new URL("dist/.built", root), "utf8"));
    return sources.length > 0 && sources.every((path) => statSync(new URL(path, root)).mtimeMs < startedAt);
  } catch {
    return false; // no finished build (or one from before this format), or a source gone
  }
}

if (builtAndCurrent()) {
  await import("../dist/cli/persona-agent.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../apps/cli/main.ts");
}
