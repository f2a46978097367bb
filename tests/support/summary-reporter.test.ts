/** The jest summary line that CI reads (summary-reporter.cjs), from a real jest run on a few throwaway suites. */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../../testing/fixtures.js";

const JEST = fileURLToPath(new URL("../../node_modules/jest/bin/jest.js", import.meta.url));
const REPORTER = fileURLToPath(new URL("./summary-reporter.cjs", import.meta.url));

/** Runs jest on `suites` (file name -> source) in a folder of their own; its stdout. */
function runJest(suites: Record<string, string>): Promise<string> {
  const dir = tempDir("summary-reporter-");
  writeFileSync(join(dir, "jest.config.json"), JSON.stringify({ reporters: [REPORTER], testMatch: ["**/*.test.cjs"] }));
  for (const [name, source] of Object.entries(suites)) writeFileSync(join(dir, name), source);
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [JEST, "--config", join(dir, "jest.config.json"), "--rootDir", dir],
      { cwd: dir, timeout: 60_000 },
      (_error, stdout) => resolve(stdout),
    ),
  );
}

test("a suite that fails to load counts as failed", async () => {
  const out = await runJest({
    "ok.test.cjs": 'test("passes", () => expect(1).toBe(1));\ntest.skip("skipped", () => {});\n',
    "fails.test.cjs": 'test("fails", () => expect(1).toBe(2));\n',
    "unloadable.test.cjs": 'require("./no-such-module");\ntest("never runs", () => {});\n',
  });
  expect(out).toContain("jest: 1 passed, 2 failed, 1 skipped; 1 suite failed to load (counted as failed)\n");
});

test("a run where everything loads prints the plain line", async () => {
  expect(await runJest({ "ok.test.cjs": 'test("passes", () => expect(1).toBe(1));\n' })).toContain(
    "jest: 1 passed, 0 failed, 0 skipped\n",
  );
});
