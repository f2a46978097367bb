/**
 * The paper's Tables 2 and 3 (arXiv:2506.06254) as the report prints them beside ours
 * (apps/eval/paper-results.ts): every method, dataset and metric is there, the numbers are
 * pinned, and they agree with what the paper says of them.
 */
import { createHash } from "node:crypto";
import { PAPER_TABLE2, PAPER_TABLE3, type PaperTable } from "../../apps/eval/paper-results.js";
import { ABLATIONS, BASELINES } from "../../apps/eval/method-names.js";

/** The paper's datasets (its rows, in order) and the metrics it reports for each (Appendix D). */
const METRICS = {
  "lamp-1": ["accuracy", "f1"],
  "lamp-2m": ["accuracy", "f1"],
  "lamp-2n": ["accuracy", "f1"],
  "lamp-3": ["mae", "rmse"],
} as const;
const LAMP_TASKS = Object.keys(METRICS) as (keyof typeof METRICS)[];
const higherIsBetter = (metric: string) => metric === "accuracy" || metric === "f1";

/** Every cell as [method, task, metric, value], in the tables' order. */
function cells(table: PaperTable): [string, string, string, number][] {
  return Object.entries(table).flatMap(([method, byTask]) =>
    Object.entries(byTask!).flatMap(([task, metrics]) =>
      Object.entries(metrics).map(
        ([metric, value]) => [method, task, metric, value] as [string, string, string, number],
      ),
    ),
  );
}

describe("the paper's Tables 2 and 3 as data", () => {
  test("Table 2 has every method of the paper, Table 3 PersonaAgent and its four ablations; each the paper's datasets and metrics", () => {
    expect(Object.keys(PAPER_TABLE2)).toEqual([...BASELINES]);
    expect(Object.keys(PAPER_TABLE3)).toEqual(["persona-agent", ...ABLATIONS]);
    for (const table of [PAPER_TABLE2, PAPER_TABLE3]) {
      for (const byTask of Object.values(table)) {
        expect(Object.keys(byTask!)).toEqual([...LAMP_TASKS]);
        for (const task of LAMP_TASKS) expect(Object.keys(byTask![task])).toEqual([...METRICS[task]]);
      }
    }
  });

  test("every number is printed as the paper prints it (three decimals) and is a possible value of its metric", () => {
    for (const [method, task, metric, value] of [...cells(PAPER_TABLE2), ...cells(PAPER_TABLE3)]) {
      const where = `${method} ${task} ${metric}`;
      expect([where, Math.round(value * 1000) / 1000]).toEqual([where, value]);
      // Accuracy and F1 are fractions; LaMP-3's errors are on a 1-5 scale (at most 4 apart).
      expect([where, value > 0 && value <= (higherIsBetter(metric) ? 1 : 4)]).toEqual([where, true]);
    }
    // RMSE is never below MAE (the root of a mean of squares is at least the mean).
    for (const byTask of [...Object.values(PAPER_TABLE2), ...Object.values(PAPER_TABLE3)])
      expect(byTask!["lamp-3"].rmse).toBeGreaterThanOrEqual(byTask!["lamp-3"].mae!);
  });

  test("Table 3's PersonaAgent row is Table 2's PersonaAgent column", () => {
    expect(PAPER_TABLE3["persona-agent"]).toEqual(PAPER_TABLE2["persona-agent"]);
  });

  test("as the paper reports: PersonaAgent is best on every dataset and metric of Table 2, and each ablation of Table 3 is below it", () => {
    const full = PAPER_TABLE2["persona-agent"]!;
    const others = [
      ...BASELINES.filter((m) => m !== "persona-agent").map((m) => PAPER_TABLE2[m]!),
      ...ABLATIONS.map((m) => PAPER_TABLE3[m]!),
    ];
    for (const task of LAMP_TASKS) {
      for (const metric of METRICS[task]) {
        for (const other of others) {
          if (higherIsBetter(metric)) expect(full[task][metric]).toBeGreaterThan(other[task][metric]!);
          else expect(full[task][metric]).toBeLessThan(other[task][metric]!);
        }
      }
    }
  });

  test("the numbers are the ones copied from the paper (pinned: change them only from the paper itself, then pin the new digest)", () => {
    const digest = createHash("sha256")
      .update(JSON.stringify([cells(PAPER_TABLE2), cells(PAPER_TABLE3)]))
      .digest("hex");
    expect(digest).toBe("62e13f8c4d7106b80817c3281a68ddf8a45f9b5f0f1da86d8c23b9beb40683f7");
  });
});
