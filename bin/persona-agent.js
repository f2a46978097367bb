#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm install` / `npm ci` / `npm run build`).
// In a source checkout whose dist/ is missing or older than src/ or graphs/, it runs the
// TypeScript through tsx instead, so an edit is never hidden behind a stale build.
import { existsSync, readdirSync, statSync } from "node:fs";

const root = new URL("../", import.meta.url);
const stamp = new URL("dist/.built", root);

function newestSource() {
  let newest = 0;
  for (const dir of ["src", "graphs"]) {
    const url = new URL(`${dir}/`, root);
    if (!existsSync(url)) continue;
    for (const entry of readdirSync(url, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
    }
  }
  return newest;
}

if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource()) {
  await import(new URL("dist/cli/persona-agent.js", root).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("src/cli/main.ts", root).href);
}
