#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm install` / `npm ci` / `npm run build`).
// In a source checkout whose dist/ is missing or older than a source it was built from, it runs
// the TypeScript through tsx instead, so an edit is never hidden behind a stale build.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
const rootDir = fileURLToPath(root); // paths, not URLs: a URL per source costs more than its stat

/**
 * dist/.built (written last by scripts/build.mjs) holds the build's start time and every source
 * file the bundle holds: one stat per file, instead of walking src/ at every start. A file new
 * to the bundle comes in through an edit of a listed one, and a deleted one fails its stat.
 */
function builtAndCurrent() {
  try {
    const { startedAt, sources } = JSON.parse(readFileSync(`${rootDir}dist/.built`, "utf8"));
    return sources.length > 0 && sources.every((path) => statSync(rootDir + path).mtimeMs < startedAt);
  } catch {
    return false; // no finished build (or one from before this format), or a source gone
  }
}

if (builtAndCurrent()) {
  await import(new URL("dist/cli/persona-agent.js", root).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("src/cli/main.ts", root).href);
}
