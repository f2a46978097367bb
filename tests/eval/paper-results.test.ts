/** The paper's numbers the report prints beside ours are the ones PAPER.md quotes (Tables 2 and 3). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PAPER_TABLE2, PAPER_TABLE3 } from "../../src/eval/paper-results.js";

/** ../shared beside the repository (as CI lays it out). */
const PAPER = readFileSync(fileURLToPath(new URL("../../../shared/docs/PAPER.md", import.meta.url)), "utf8");
const TASKS = ["lamp-1", "lamp-2m", "lamp-2n", "lamp-3"] as const;

/** The Markdown tables of the "Table 2 and Table 3" section, as arrays of cells per row. */
function tables(): string[][][] {
  const section = PAPER.split("## Table 2 and Table 3")[1]!.split("\n## ")[0]!;
  return section
    .split(/\n\s*\n/)
    .filter((block) => block.trim().startsWith("|"))
    .map((block) => block.trim().split("\n").map((line) => line.split("|").slice(1, -1).map((c) => c.trim())));
}

describe("the paper's Tables 2 and 3 as data", () => {
  const [table2, table3] = tables();

  it("Table 2 matches PAPER.md for every method, dataset and metric", () => {
    const methods = table2![2]!.slice(2, -1).map((name) => name.toLowerCase());
    expect(methods).toEqual(["prompt", "icl", "rag-1", "rag-4", "pag-4", "react", "membank"]);
    const columns = [...methods, "persona-agent"] as const;
    const rows = table2!.slice(3);
    expect(rows).toHaveLength(8); // 4 datasets x 2 metrics
    rows.forEach((cells, r) => {
      const task = TASKS[Math.floor(r / 2)]!;
      const metric = { "Acc. ↑": "accuracy", "F1 ↑": "f1", "MAE ↓": "mae", "RMSE ↓": "rmse" }[cells[1]!]!;
      columns.forEach((method, c) => expect([method, task, metric, PAPER_TABLE2[method as keyof typeof PAPER_TABLE2]![task][metric]]).toEqual([method, task, metric, Number(cells[c + 2])]));
    });
  });

  it("Table 3 matches PAPER.md for every variant", () => {
    const variants: Record<string, keyof typeof PAPER_TABLE3> = {
      PersonaAgent: "persona-agent",
      "w/o alignment": "persona-agent-no-alignment",
      "w/o persona": "persona-agent-no-persona",
      "w/o Memory": "persona-agent-no-memory",
      "w/o Action": "persona-agent-no-action",
    };
    const rows = table3!.slice(3);
    expect(rows.map((r) => r[0])).toEqual(Object.keys(variants));
    for (const [name, ...values] of rows) {
      const ours = TASKS.flatMap((task) => Object.values(PAPER_TABLE3[variants[name!]!]![task]));
      expect([name, ours]).toEqual([name, values.map(Number)]);
    }
  });
});
