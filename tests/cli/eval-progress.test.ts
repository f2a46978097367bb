/** The figures `eval` shows while it runs: a real ETA from this process's pace, tokens and cost. */
import { formatDuration, progressLine } from "../../apps/cli/eval-progress.js";
import type { RunProgress } from "../../apps/eval/runner.js";

const progress = (more: Partial<RunProgress>): RunProgress => ({
  done: 0,
  total: 400,
  ran: 0,
  failures: 0,
  spent: { calls: 0, inputTokens: 0, outputTokens: 0 },
  cost: 0,
  ...more,
});

test("before the first answer there is no ETA to give, and it says so", () => {
  expect(progressLine("eval lamp-2m prompt", progress({}), 4_000)).toBe(
    "eval lamp-2m prompt: 0/400 queries, 0 failed, 0 tokens, $0.0000, 4s elapsed, ETA after the first query",
  );
});

test("the ETA comes from the queries this process answered; resumed ones do not speed it up", () => {
  // 100 finished before (resumed), 10 answered here in 60 s: 290 left at 6 s each.
  const line = progressLine(
    "eval lamp-3 persona-agent",
    progress({
      done: 110,
      ran: 10,
      failures: 2,
      spent: { calls: 170, inputTokens: 1_200_000, outputTokens: 34_567 },
      cost: 4.118505,
    }),
    60_000,
  );
  expect(line).toBe(
    "eval lamp-3 persona-agent: 110/400 queries, 2 failed, 1,234,567 tokens, $4.12, 1m 00s elapsed, ETA 29m 00s",
  );
});

test("an unknown price is shown as such, never as $0; a finished run says done", () => {
  expect(progressLine("x", progress({ done: 400, ran: 400, cost: undefined }), 7_200_000)).toBe(
    "x: 400/400 queries, 0 failed, 0 tokens, cost unknown, 2h 00m elapsed, done",
  );
  expect([formatDuration(59_400), formatDuration(3_599_000), formatDuration(3_660_000)]).toEqual([
    "59s",
    "59m 59s",
    "1h 01m",
  ]);
});
