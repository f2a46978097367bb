/**
 * Bounds on the costly alignment knobs (issue #12 item 6): every setting the operator's bounds
 * allow completes (the recursion limit follows E), anything past them is refused in one line
 * before a model call, and the bounds come from the environment only.
 */
import { runCli } from "../support/cli.js";
import * as alignmentConfiguration from "../../src/alignment/configuration.js";
import { useFaultyCli } from "./support.js";

describe("alignment bounds through the CLI", () => {
  const suite = useFaultyCli("faults-bounds-");

  test("align --iterations 6 and --iterations 5 --validate complete (LangGraph's default limit of 25 steps stopped them)", async () => {
    const six = await runCli(["align", "--user", "alice", "--iterations", "6", "--json"], suite.env);
    expect(six.stderr).toBe("");
    expect(JSON.parse(six.stdout).iterations).toHaveLength(6);
    const validated = await runCli(
      ["align", "--user", "alice", "--iterations", "5", "--validate", "--json"],
      suite.env,
    );
    expect(validated.stderr).toBe("");
    expect(JSON.parse(validated.stdout).iterations).toHaveLength(5);
  }, 60_000);

  test("past the operator's bounds: one line, exit 2, no model call; the operator may move them", async () => {
    const sent = suite.chat();
    const tooMany = await runCli(["align", "--user", "alice", "--iterations", "11"], suite.env);
    expect(tooMany).toMatchObject({ code: 2, stdout: "" });
    expect(tooMany.stderr).toBe(
      "persona-agent: --iterations must be at most 10 (the operator's PERSONA_AGENT_MAX_ITERATIONS), got 11\n",
    );
    const tooBig = await runCli(["align", "--user", "alice", "--batch", "33"], suite.env);
    expect(tooBig.stderr).toBe(
      "persona-agent: --batch must be at most 32 (the operator's PERSONA_AGENT_MAX_BATCH), got 33\n",
    );
    expect(suite.chat()).toBe(sent);
    const lowered = await runCli(["align", "--user", "alice", "--iterations", "3"], {
      ...suite.env,
      PERSONA_AGENT_MAX_ITERATIONS: "2",
    });
    expect(lowered.stderr).toMatch(/--iterations must be at most 2/);
  }, 30_000);
});

describe("alignment bounds for graph callers", () => {
  const run = (configurable: Record<string, unknown>) => () =>
    alignmentConfiguration.ensureAlignmentConfiguration({ configurable: { userId: "alice", ...configurable } });

  test("a run's configurable cannot exceed the bounds (250 model calls from one request are no longer possible)", () => {
    expect(run({ iterations: 50 })).toThrow(/iterations must be at most 10/);
    expect(run({ batchSize: 500 })).toThrow(/batchSize must be at most 32/);
    expect(run({ validationSize: 64 })).toThrow(/validationSize must be at most 32/);
    expect(run({ iterations: 10, batchSize: 32 })()).toMatchObject({ iterations: 10, batchSize: 32 });
  });

  test("the recursion limit grows with E, so the largest allowed run fits", () => {
    const { alignmentRecursionLimit } = alignmentConfiguration as unknown as {
      alignmentRecursionLimit: (e: number, v: boolean) => number;
    };
    expect(alignmentRecursionLimit(1, false)).toBeGreaterThanOrEqual(1 + 4);
    expect(alignmentRecursionLimit(10, true)).toBeGreaterThanOrEqual(1 + 10 * 5);
  });
});
