// Jest globalSetup: the CLI tests run bin/persona-agent.js, which runs the bundle in dist/ as a
// user's install does; build it from the current sources first.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function buildCli() {
  execFileSync(process.execPath, [fileURLToPath(new URL("../../scripts/build.mjs", import.meta.url))], {
    stdio: "inherit",
  });
}
