/**
 * `eval report` on summaries written here with known numbers: the paper's layout and numbers,
 * best values marked by each metric's direction, users/queries/failures per cell, Vega-Lite
 * figures as SVG and PNG, the HTML page rendered by headless Chromium, and empty folders refused.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { UserError } from "../../src/errors/errors.js";
import { writeReport, type TableRow } from "../../apps/eval/report.js";
import { summaryName } from "../../apps/eval/runner.js";
import { METHOD_COLOURS, paddedDomain } from "../../apps/eval/figures.js";
import { UniversalSentenceEncoderEmbeddings } from "../../src/models/embeddings.js";
import { tempDir } from "../../testing/fixtures.js";
import { FIXTURE_POPULATION } from "../../testing/lamp-persons.js";

const root = tempDir("eval-report-");
afterAll(() => rm(root, { recursive: true, force: true }));

const DEFAULT = { k: 4, batch: 3, iterations: 1 };
let runs = 0;
/** A summary as `eval` writes it; `extra` adds the newer fields (users, queries, promptSet) or personas. */
async function summary(
  out: string,
  task: string,
  method: string,
  metrics: Record<string, number>,
  extra: Record<string, unknown> = {},
) {
  const s = {
    task,
    method,
    model: "m-large",
    params: DEFAULT,
    n: 10,
    metrics,
    calls: 10,
    tokens: 200,
    failures: 0,
    ran: 10,
    callsPerQuery: 1,
    msPerQuery: 40,
    complete: true,
    runId: `run${String(++runs).padStart(2, "0")}`,
    ...extra,
  };
  await mkdir(join(out, "summaries"), { recursive: true });
  await writeFile(join(out, "summaries", summaryName(s as never)), JSON.stringify(s));
}

/** The line under a cell's value: the run's users, queries and data fingerprint ("?": a summary older than run keys). */
const src = (users: number, queries: number, data = "?") =>
  `<br><sub>${users} users · ${queries} queries · data ${data}</sub>`;

const PERSONAS = {
  "7": "Likes sci-fi and space opera; rates films by their effects.",
  "12": "Likes sci-fi and space opera; rates films by their scripts.",
  "3": "Prefers romantic comedies and quiet family dramas.",
};

describe("eval report", () => {
  const out = join(root, "runs");
  let files: Record<string, string>;
  beforeAll(async () => {
    // LaMP-1: RAG-1 best on accuracy, ICL best on F1.
    await summary(out, "lamp-1", "icl", { accuracy: 0.8, f1: 0.7 });
    await summary(out, "lamp-1", "rag-1", { accuracy: 0.9, f1: 0.6 });
    // LaMP-3: lower is better; PersonaAgent's run has the newer fields (counts, run key with the prompt set) and two failures.
    await summary(out, "lamp-3", "prompt", { mae: 0.3, rmse: 0.6 });
    await summary(
      out,
      "lamp-3",
      "persona-agent",
      { mae: 0.25, rmse: 0.5 },
      {
        users: 4,
        queries: 12,
        failures: 2,
        runKey: { promptSet: "paper" },
        personas: { "1": "Rates gadgets harshly.", "2": "Loves every kitchen tool." },
      },
    );
    await summary(out, "lamp-3", "persona-agent-no-memory", { mae: 0.35, rmse: 0.45 });
    await summary(out, "lamp-3", "persona-agent", { mae: 0.2, rmse: 0.4 }, { params: { ...DEFAULT, k: 8 } });
    await summary(out, "lamp-2m", "persona-agent", { accuracy: 0.5, f1: 0.4 }, { personas: PERSONAS });
    await summary(out, "lamp-2m", "persona-agent", { accuracy: 0.6, f1: 0.45 }, { params: { ...DEFAULT, k: 8 } });
    // A second base model for Figure 4.
    await summary(out, "lamp-2m", "persona-agent", { accuracy: 0.3, f1: 0.2 }, { model: "m-small" });
    files = await writeReport(out, { html: true, embeddings: new UniversalSentenceEncoderEmbeddings() });
  }, 60_000);

  it("writes Table 2 in the paper's layout: ours beside the paper's with the difference, best per row by the metric's direction", async () => {
    const md = await readFile(files.markdown!, "utf8");
    expect(md).toContain("## Model m-large, prompt set paper");
    expect(md).toContain(
      "| Dataset | Metric | Prompt | ICL | RAG-1 | RAG-4 | PAG-4 | ReAct | MemBank | PersonaAgent |",
    );
    expect(md).toContain(
      "|  |  | Non-Personalized |  | Personalized Workflow |  |  | General Agent |  | PersonaAgent |",
    );
    expect(md).toContain(
      `| LaMP-1 | Acc. ↑ | – / 0.772 | 0.800 / 0.780 (+0.020)${src(10, 10)} | **0.900** / 0.683 (+0.217)${src(10, 10)} |`,
    );
    expect(md).toContain(
      `| LaMP-1 | F1 ↑ | – / 0.771 | **0.700** / 0.766 (−0.066)${src(10, 10)} | 0.600 / 0.705 (−0.105)${src(10, 10)} |`,
    );
    // MAE: lower wins, and the failed queries are flagged in the cell.
    expect(md).toContain(`| LaMP-3 | MAE ↓ | 0.300 / 0.295 (+0.005)${src(10, 10)} |`);
    expect(md).toMatch(
      / \| \*\*0\.250\*\* ⚠2 \/ 0\.241 \(\+0\.009\)<br><sub>4 users · 12 queries · data \?<\/sub> \|\n/,
    );

    const json = JSON.parse(await readFile(files.json!, "utf8"))["m-large"];
    const mae = (json.table2 as TableRow[]).find((r) => r.task === "lamp-3" && r.metric === "mae")!;
    expect(mae.cells.find((c) => c.method === "persona-agent")).toMatchObject({
      value: 0.25,
      paper: 0.241,
      best: true,
      users: 4,
      queries: 12,
      failures: 2,
    });
    // An older summary without users/queries: one query per user.
    expect(mae.cells.find((c) => c.method === "prompt")).toMatchObject({
      best: false,
      users: 10,
      queries: 10,
      failures: 0,
    });
    expect(json.promptSets).toEqual(["paper"]);
  });

  it("writes Table 3 with variants as rows, the best per dataset-metric marked", async () => {
    const md = await readFile(files.markdown!, "utf8");
    const table3 = md.split("### Table 3: ablations")[1]!.split("###")[0]!;
    expect(table3).toContain(
      "| Variant | LaMP-1 Acc. ↑ | LaMP-1 F1 ↑ | LaMP-2M Acc. ↑ | LaMP-2M F1 ↑ | LaMP-2N Acc. ↑ | LaMP-2N F1 ↑ | LaMP-3 MAE ↓ | LaMP-3 RMSE ↓ |",
    );
    // PersonaAgent has the lower MAE, w/o Memory the lower RMSE.
    expect(table3).toMatch(
      /\| PersonaAgent \|.*\| \*\*0\.250\*\* ⚠2 \/ 0\.241 \(\+0\.009\)<br><sub>4 users · 12 queries · data \?<\/sub> \| 0\.500 ⚠2 \/ 0\.509 \(−0\.009\)<br><sub>4 users · 12 queries · data \?<\/sub> \|\n/,
    );
    expect(table3).toContain(
      `| w/o Memory | – / 0.821 | – / 0.841 | – / 0.460 | – / 0.365 | – / 0.646 | – / 0.388 | 0.350 / 0.348 (+0.002)${src(10, 10)} | **0.450** / 0.661 (−0.211)${src(10, 10)} |`,
    );
    expect(table3).toMatch(/\| w\/o Action \| – \/ 0\.764 \|/);
  });

  it("draws Figure 3 with one panel per task on the metric's own axis, and every figure as SVG and PNG", async () => {
    const svg = await readFile(files["scaling-k.m-large.svg"]!, "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("Y-axis titled 'Acc. / F1 higher ↑ is better'");
    expect(svg).toContain("Y-axis titled 'MAE / RMSE lower ↓ is better'");
    expect(svg).not.toContain("Title text 'LaMP-1'"); // no persona-agent runs there: no panel
    // Two K values x two metrics in each of the two panels, each a labelled point.
    expect(
      svg.match(
        /aria-label="retrieved memories K: \d+; [^"]*metric: [^"]*" role="graphics-symbol" aria-roledescription="point"/g,
      ),
    ).toHaveLength(8);
    expect(svg).toContain("metric: MAE; value: 0.200");

    const names = Object.keys(files)
      .filter((f) => f.endsWith(".svg"))
      .map((f) => f.replace(/\.svg$/, ""));
    // Figures without data are listed as not drawn rather than drawn empty: m-large varied only K,
    // m-small ran once and recorded no personas.
    expect(names.sort()).toEqual([
      "base-models",
      "persona-map.m-large",
      "persona-similarity.m-large",
      "scaling-k.m-large",
    ]);
    expect(await readFile(files.markdown!, "utf8")).toContain(
      [
        "## Figures not drawn",
        "",
        "- scaling-batch: persona-agent of m-large ran at one alignment batch size n only",
        "- scaling-iterations: persona-agent of m-large ran at one alignment iterations E only",
        "- scaling-batch: persona-agent of m-small ran at one alignment batch size n only",
        "- scaling-iterations: persona-agent of m-small ran at one alignment iterations E only",
        "- scaling-k: persona-agent of m-small ran at one retrieved memories K only",
        "- persona-similarity: no final personas in the persona-agent runs of m-small",
        "- persona-map: no task with two or more final personas (or t-SNE failed on them) for m-small",
      ].join("\n"),
    );
    for (const name of names) {
      const png = await readFile(files[`${name}.png`]!);
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect([png.readUInt32BE(16), png.readUInt32BE(20)].every((side) => side > 100)).toBe(true); // IHDR width, height
    }
  });

  it("draws the persona heatmap with a colour scale, axis titles and user labels, and the persona map with the template marked", async () => {
    const heat = await readFile(files["persona-similarity.m-large.svg"]!, "utf8");
    expect(
      heat.match(
        /aria-label="[^"]*persona of: \d+; compared with: \d+" role="graphics-symbol" aria-roledescription="rect mark"/g,
      ),
    ).toHaveLength(9);
    expect(heat).toMatch(/aria-label="user: 12; Jaccard: 0\.8333\d*; persona of: 7; compared with: 12"/); // 10 shared words of 12
    expect(heat).toContain("role-legend-gradient");
    expect(heat).toContain("X-axis titled 'user'");
    // Users in numeric order on the axis.
    expect([...heat.matchAll(/<text[^>]*>(\d+)<\/text>/g)].map((m) => m[1]).slice(0, 3)).toEqual(["3", "7", "12"]);

    const map = await readFile(files["persona-map.m-large.svg"]!, "utf8");
    // Figure 2 is LaMP-2M's map, as in the paper; LaMP-3 (also run) is a further panel with a t-SNE of its own.
    expect([...map.matchAll(/aria-label="Title text '([^"]+)'"/g)].map((m) => m[1])).toEqual([
      "LaMP-2M (the paper's Figure 2)",
      "LaMP-3",
      "Persona map (m-large)",
    ]);
    expect(map.match(/task: LaMP-2M; kind: final persona"/g)).toHaveLength(3);
    expect(map.match(/task: LaMP-3; kind: final persona"/g)).toHaveLength(2);
    expect(map.match(/kind: initial template"/g)).toHaveLength(2); // in each panel
    expect(map).toContain(">initial template</text>");
    // The two sci-fi personas are each other's nearest neighbours on the map.
    const num = (text: string) => Number(text.replace("−", "-")); // Vega writes a typographic minus
    const at = Object.fromEntries(
      [
        ...map.matchAll(/aria-label="t-SNE 1: ([−\d.e]+); t-SNE 2: ([−\d.e]+);[^"]*user: (\w+); task: LaMP-2M; kind/g),
      ].map((m) => [m[3], [num(m[1]!), num(m[2]!)]]),
    );
    const distance = (a: string, b: string) => Math.hypot(at[a][0] - at[b][0], at[a][1] - at[b][1]);
    expect(Object.keys(at).sort()).toEqual(["12", "3", "7", "persona_init"]);
    expect(distance("7", "12")).toBeLessThan(
      Math.min(distance("7", "3"), distance("12", "3"), distance("7", "persona_init")),
    );
  });

  it("draws Figure 4 with one group of bars per base model, each method in a colour of its own", async () => {
    const bars = await readFile(files["base-models.svg"]!, "utf8");
    expect(bars).toMatch(
      /aria-label="base model: m-large; [^"]*; method: PersonaAgent; model: m-large; value: 0\.500" role="graphics-symbol" aria-roledescription="bar"/,
    );
    expect(bars).toMatch(
      /aria-label="base model: m-small; [^"]*; method: PersonaAgent; model: m-small; value: 0\.300" role="graphics-symbol" aria-roledescription="bar"/,
    );
    expect(bars).toContain("2 base models, one `eval --model` run each");
    // Every one of the paper's 12 methods has a colour no other has.
    expect(new Set(METHOD_COLOURS).size).toBe(12);
  });

  it("Figure 4 with one base model says so; every method run is a bar with its full name and colour in the legend", async () => {
    const one = join(root, "one-model");
    const methods = [
      "prompt",
      "icl",
      "rag-1",
      "rag-4",
      "pag-4",
      "react",
      "membank",
      "persona-agent",
      "persona-agent-no-alignment",
      "persona-agent-no-persona",
      "persona-agent-no-memory",
      "persona-agent-no-action",
    ];
    for (const [i, method] of methods.entries())
      await summary(one, "lamp-2m", method, { accuracy: 0.3 + i / 100, f1: 0.2 });
    const svg = await readFile((await writeReport(one))["base-models.svg"]!, "utf8");
    expect(svg).toContain(
      "One base model so far (m-large): the paper compares four; run `eval --model` with others to fill this figure.",
    );
    const legend = [
      ...svg.matchAll(
        /<path transform="translate\(6,6\)" d="[^"]+" fill="(#[0-9a-f]{6})"[^>]*\/><\/g><g class="mark-text role-legend-label"[^>]*><text[^>]*>([^<]+)<\/text>/g,
      ),
    ].map((m) => [m[2], m[1]]);
    expect(legend.map(([name]) => name)).toEqual([
      "Prompt",
      "ICL",
      "RAG-1",
      "RAG-4",
      "PAG-4",
      "ReAct",
      "MemBank",
      "PersonaAgent",
      "PersonaAgent w/o alignment",
      "PersonaAgent w/o persona",
      "PersonaAgent w/o Memory",
      "PersonaAgent w/o Action",
    ]);
    expect(new Set(legend.map(([, colour]) => colour)).size).toBe(12);
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(12);
  }, 30_000);

  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
  (chromium ? it : it.skip)(
    chromium
      ? "writes one self-contained HTML page whose every figure renders in headless Chromium"
      : "HTML page in headless Chromium: SKIPPED, chromium is not installed (apt-get install chromium)",
    async () => {
      const html = await readFile(files.html!, "utf8");
      expect(html.match(/(?:src|href)="(?!data:)[^"]*"/g)).toBeNull(); // nothing to fetch
      const figures = Object.keys(files).filter((f) => f.endsWith(".svg")).length;
      const { stdout } = await promisify(execFile)(
        chromium!,
        ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", `file://${files.html}`],
        { maxBuffer: 64 << 20 },
      );
      const rendered = [...stdout.matchAll(/<figure data-figure="([^"]+)" data-rendered="([^"]+)"/g)].map((m) => [
        m[1],
        m[2],
      ]);
      expect(stdout).toContain(`data-figures-checked="${figures}"`);
      expect(rendered).toHaveLength(figures);
      for (const [name, size] of rendered)
        expect([name, size]).toEqual([name, expect.stringMatching(/^[1-9]\d*x[1-9]\d*$/)]);
      expect(stdout).toContain("<b>2 failed</b>");
      expect(stdout).toMatch(
        /<td class="best failed"><span class="ours">0\.250<\/span><span class="paper">paper 0\.241 <span class="worse">\+0\.009<\/span><\/span><span class="counts" title="run run\d\d">4 users · 12 queries · data \?/,
      );
    },
    30_000,
  );

  it("marks a figure that does not load as failed in Chromium (the check above can fail)", async () => {
    if (!chromium) return;
    const html = (await readFile(files.html!, "utf8")).replace(
      /src="data:image\/svg\+xml;base64,[^"]+"/,
      'src="data:image/svg+xml;base64,bm90IGFuIHN2Zw=="',
    );
    const broken = join(root, "broken.html");
    await writeFile(broken, html);
    const { stdout } = await promisify(execFile)(
      chromium,
      ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", `file://${broken}`],
      { maxBuffer: 64 << 20 },
    );
    expect(stdout.match(/data-rendered="failed"/g)).toHaveLength(1);
  }, 30_000);
});

describe("eval report never mixes runs", () => {
  const out = join(root, "two-runs");
  const at = (minute: number) => `2025-06-01T10:${String(minute).padStart(2, "0")}:00.000Z`;
  beforeAll(async () => {
    // One cell (lamp-2n rag-1 at the defaults) run three times: a dev run, then a test run, then an unfinished one.
    await summary(
      out,
      "lamp-2n",
      "rag-1",
      { accuracy: 0.9, f1: 0.8 },
      { runId: "dev0aaaaaaaa", users: 2, queries: 3, dataFingerprint: "d1d1d1d1", writtenAt: at(1) },
    );
    await summary(
      out,
      "lamp-2n",
      "rag-1",
      { accuracy: 0.6, f1: 0.5 },
      { runId: "test0bbbbbbb", users: 3, queries: 4, dataFingerprint: "e2e2e2e2", writtenAt: at(2) },
    );
    await summary(
      out,
      "lamp-2n",
      "rag-1",
      { accuracy: 0.1, f1: 0.1 },
      { runId: "test0ccccccc", users: 1, queries: 1, dataFingerprint: "e2e2e2e2", writtenAt: at(3), complete: false },
    );
    await summary(
      out,
      "lamp-2n",
      "prompt",
      { accuracy: 0.5, f1: 0.4 },
      { runId: "test0ddddddd", users: 3, queries: 4, dataFingerprint: "e2e2e2e2", writtenAt: at(1) },
    );
  });
  const table2Row = (md: string, metric: string) => md.split("\n").find((l) => l.startsWith(`| LaMP-2N | ${metric}`))!;

  it("a cell run several times shows the newest complete run, with its users, queries and data; the others are listed", async () => {
    const md = await readFile((await writeReport(out)).markdown!, "utf8");
    expect(table2Row(md, "Acc.")).toBe(
      `| LaMP-2N | Acc. ↑ | 0.500 / 0.660 (−0.160)${src(3, 4, "e2e2e2e2")} | – / 0.388 | **0.600** / 0.687 (−0.087)${src(3, 4, "e2e2e2e2")} | – / 0.742 | – / 0.768 | – / 0.639 | – / 0.741 | – / 0.796 |`,
    );
    const unused = md.split("### Runs not used")[1]!;
    expect(unused).toContain(
      "| dev0aaaaaaaa | d1d1d1d1 | 2025-06-01 10:01 | LaMP-2N | rag-1 | K=4 n=3 E=1 | 3 | test0bbbbbbb (newer) |",
    );
    expect(unused).toContain(
      "| test0ccccccc | e2e2e2e2 | 2025-06-01 10:03 | LaMP-2N | rag-1 | K=4 n=3 E=1 | 1* | test0bbbbbbb (complete) |",
    );
    expect(md).not.toContain("different data sets");
  });

  it("--run selects runs explicitly; cells from different data are flagged", async () => {
    const files = await writeReport(out, { runs: ["dev0", "test0d"], html: true });
    const md = await readFile(files.markdown!, "utf8");
    expect(table2Row(md, "F1")).toBe(
      `| LaMP-2N | F1 ↑ | 0.400 / 0.386 (+0.014)${src(3, 4, "e2e2e2e2")} | – / 0.145 | **0.800** / 0.439 (+0.361)${src(2, 3, "d1d1d1d1")} | – / 0.484 | – / 0.509 | – / 0.381 | – / 0.456 | – / 0.532 |`,
    );
    expect(md).toContain(
      "⚠ LaMP-2N: the cells come from 2 different data sets (e2e2e2e2, d1d1d1d1); compare them with care",
    );
    expect(md.split("### Runs not used")[1]).toContain(
      "| test0bbbbbbb | e2e2e2e2 | 2025-06-01 10:02 | LaMP-2N | rag-1 | K=4 n=3 E=1 | 4 | dev0aaaaaaaa (selected) |",
    );
    const html = await readFile(files.html!, "utf8");
    expect(html).toContain('<span class="counts" title="run dev0aaaaaaaa">2 users · 3 queries · data d1d1d1d1</span>');
    expect(html).toContain('<p class="warn">⚠ LaMP-2N: the cells come from 2 different data sets');
  });

  it("--run refuses an unknown id, an ambiguous prefix and two runs of one cell, in one line", async () => {
    await expect(writeReport(out, { runs: ["nope"] })).rejects.toThrow(new UserError("--run nope: no run has this id"));
    await expect(writeReport(out, { runs: ["test0"] })).rejects.toThrow(
      new UserError("--run test0: 3 runs start with it (test0bbbbbbb, test0ccccccc, test0ddddddd); give more of it"),
    );
    await expect(writeReport(out, { runs: ["dev0", "test0b"] })).rejects.toThrow(
      new UserError(
        "--run dev0aaaaaaaa and --run test0bbbbbbb are both lamp-2n rag-1 of m-large at K=4 n=3 E=1: give one of them",
      ),
    );
  });
});

describe("eval report shows each run's population and skipped persons (issue #22)", () => {
  it("one row per run used: persons, questions, merged, removed items, and the skipped persons with their unscored queries (Markdown and HTML)", async () => {
    const out = join(root, "skipped");
    const population = FIXTURE_POPULATION; // as the persons fixture gives
    await summary(
      out,
      "lamp-2n",
      "persona-agent",
      { accuracy: 0.5, f1: 0.4 },
      {
        runId: "pa0000000000",
        users: 6,
        queries: 9,
        population,
        skipped: [{ user: "300", queries: 1, reason: "no profile interaction to align on" }],
      },
    );
    await summary(
      out,
      "lamp-2n",
      "prompt",
      { accuracy: 0.4, f1: 0.3 },
      { runId: "pr0000000000", users: 7, queries: 10, population, skipped: [] },
    );
    const files = await writeReport(out, { html: true });
    const md = await readFile(files.markdown!, "utf8");
    const section = md.split("### Population and skipped persons")[1]!.split("###")[0]!;
    expect(section).toContain(
      "| pa0000000000 | LaMP-2N | persona-agent | 7 | 10 | 3 | 4 | 1 | 1 (1 query unscored: 300) |",
    );
    expect(section).toContain("| pr0000000000 | LaMP-2N | prompt | 7 | 10 | 3 | 4 | 1 | 0 |");
    const html = await readFile(files.html!, "utf8");
    expect(html).toContain("<summary>Population and skipped persons (1 skipped in all)</summary>");
    expect(html).toContain("<td>1 (1 query unscored: 300)</td>");
  });
});

describe("eval report refuses what it cannot report", () => {
  it("a missing or empty summaries folder, or a file that is not a summary, is a one-line user error", async () => {
    const missing = join(root, "never-ran");
    await expect(writeReport(missing)).rejects.toThrow(
      new UserError(`${join(missing, "summaries")} does not exist: run \`persona-agent eval --out ${missing}\` first`),
    );
    const empty = join(root, "empty");
    await mkdir(join(empty, "summaries"), { recursive: true });
    await expect(writeReport(empty)).rejects.toThrow(
      /summaries holds no eval summaries: run `persona-agent eval --out .*empty` first$/,
    );
    await writeFile(join(empty, "summaries", "x.json"), '{"task": "lamp-9"}');
    await expect(writeReport(empty)).rejects.toThrow(
      /x\.json: not an eval summary \(needs task, method, model, params and metrics\)$/,
    );
    expect(existsSync(join(empty, "report"))).toBe(false);
    expect(await readdir(empty)).toEqual(["summaries"]);
  });

  it("pads a flat curve's axis to a readable range that never goes below zero", () => {
    expect(paddedDomain([0, 0])).toEqual([0, 0.05]);
    const [lo, hi] = paddedDomain([0.5, 0.5]);
    expect([lo, hi].map((x) => x.toFixed(2))).toEqual(["0.45", "0.55"]);
  });
});
