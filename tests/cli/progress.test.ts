/**
 * Alignment shows its progress on stderr (`align` and the alignment a `feedback` runs): off a
 * terminal one plain line per step and finished task, on a terminal cli-progress's bar.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { BIN, runCli } from "../support/cli.js";
import { useFaultyCli } from "../faults/support.js";

/** The lines of one iteration aligning a batch of `n`, as the CLI prints them off a terminal. */
function iterationLines(n: number, iteration = "1/1"): string[] {
  const step = (label: string, total: number) =>
    Array.from(
      { length: total + 1 },
      (_, done) => `persona-agent: alignment iteration ${iteration}: ${label} ${done}/${total}`,
    );
  return [...step("simulations", n), ...step("feedback (LLM_grad)", n), ...step("persona update (LLM_update)", 1)];
}

describe("alignment progress", () => {
  const suite = useFaultyCli("cli-progress-");

  test("align: simulations n/N, feedback n/N and the update of every iteration, then its result on stdout", async () => {
    const result = await runCli(["align", "--user", "alice", "--batch", "2", "--iterations", "2"], suite.env);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^aligned user "alice" in 2 iteration\(s\)/);
    expect(result.progress).toEqual([...iterationLines(2, "1/2"), ...iterationLines(2, "2/2")]);
  });

  test("align --validate also shows the validation", async () => {
    const result = await runCli(["align", "--user", "alice", "--batch", "2", "--validate"], suite.env);
    expect(result.code).toBe(0);
    expect(result.progress.slice(-2)).toEqual([
      "persona-agent: alignment iteration 1/1: validation 0/1",
      "persona-agent: alignment iteration 1/1: validation 1/1",
    ]);
  });

  test("feedback: progress when it runs an alignment, none when it only records", async () => {
    const feedback = (alignEvery: string) =>
      runCli(
        [
          "feedback",
          "--user",
          "alice",
          "--query",
          "Tag this movie: a moon base",
          "--truth",
          "sci-fi",
          "--align-every",
          alignEvery,
          "--batch",
          "3",
        ],
        suite.env,
      );
    const recorded = await feedback("5");
    expect(recorded).toMatchObject({ code: 0, stderr: "", progress: [] });
    const aligned = await feedback("1");
    expect(aligned).toMatchObject({ code: 0, stderr: "" });
    expect(aligned.progress).toEqual(iterationLines(3));
  });

  const hasScript = spawnSync("script", ["--version"]).status === 0;
  (hasScript ? test : test.skip)("on a terminal: a bar per step (cli-progress), no plain lines", async () => {
    // util-linux's `script` runs the command on a pseudo-terminal and copies what it printed
    // (asynchronously: the scripted model server in this process must answer meanwhile).
    const command = [process.execPath, BIN, "align", "--user", "alice", "--batch", "2"]
      .map((arg) => `'${arg}'`)
      .join(" ");
    const { stdout: out } = await promisify(execFile)("script", ["-qec", command, "/dev/null"], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...suite.env, TERM: "xterm" },
      encoding: "utf8",
    });
    // eslint-disable-next-line no-control-regex -- the terminal's escape sequence is what is tested
    expect(out).toMatch(/\x1b\[1Galignment iteration 1\/1: simulations [░█]+ 2\/2/);
    expect(out).toMatch(/alignment iteration 1\/1: persona update \(LLM_update\) [░█]+ 1\/1/);
    expect(out).not.toContain("persona-agent: alignment iteration");
    expect(out).toMatch(/aligned user "alice" in 1 iteration\(s\)/);
  });
});
