/**
 * The real executable: `eval` against the local OpenAI-compatible server (resume after SIGKILL,
 * rate-limit retries, failures recorded), `eval report`, and `data download` against a local host.
 */
import { spawn } from "node:child_process";
import { createServer, type ServerResponse } from "node:http";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS } from "../../src/data/lamp.js";
import { writeSyntheticLamp } from "../../src/eval/synthetic.js";
import { BIN, runCli, unreachableUrl } from "../support/cli.js";
import { tempDir } from "../support/fixtures.js";
import { closeServer, listen, startOpenAIServer, type OpenAITestServer } from "../support/openai-server.js";
import { respondWith } from "../support/scripted-chat.js";
import { majority } from "./lamp-script.js";

const dir = tempDir("eval-cli-");
afterAll(() => rm(dir, { recursive: true, force: true }));

const texts = (messages: any[]) => messages.map((m) => (typeof m.content === "string" ? m.content : ""));

describe("persona-agent eval (real CLI, local OpenAI server)", () => {
  let reference: { metrics: { accuracy: number; f1: number }; tokens: number; msPerQuery: number };
  let server: OpenAITestServer;
  let files: { questions: string; outputs: string };
  let mode: "ok" | "429-once" | "fail-user-2" = "ok";
  const seen429 = new Set<string>();
  beforeAll(async () => {
    files = await writeSyntheticLamp(dir, "lamp-2m", { users: 6, items: 4 });
    server = await startOpenAIServer(
      respondWith((req) => {
        const text = texts(req.messages).join("\n");
        const user = /of user (\d+)/.exec(text.split("Which tag")[1] ?? "")?.[1] ?? "";
        if (mode === "429-once" && !seen429.has(user)) {
          seen429.add(user);
          return { status: 429, headers: { "retry-after": "0" } };
        }
        if (mode === "fail-user-2" && user === "2") return { status: 400 };
        return { delayMs: 150, then: { content: majority(texts(req.messages), LAMP_LABELS["lamp-2m"]!) ?? "no idea" } };
      }),
    );
  });
  afterAll(() => server.close());

  const env = () => ({ OPENAI_BASE_URL: server.url, PERSONA_AGENT_MAX_RETRIES: "0", PERSONA_AGENT_MODEL: "openai:gpt-4o-mini" });
  const evalArgs = (out: string, ...more: string[]) => ["eval", "--task", "lamp-2m", "--questions", files.questions, "--outputs", files.outputs, "--method", "rag-1", "--out", out, "--json", "--backoff-ms", "5", ...more];
  const lines = (out: string, file = join(out, "results", "lamp-2m.rag-1.jsonl")) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}")).length : 0);

  it("resumes a run killed midway without redoing finished queries, with the same metrics", async () => {
    const full = await runCli(evalArgs(join(dir, "full"), "--concurrency", "1"), env());
    expect(full.stderr).toBe("");
    reference = JSON.parse(full.stdout);
    expect(reference).toMatchObject({ task: "lamp-2m", method: "rag-1", n: 6, calls: 6 });
    expect(typeof reference.tokens).toBe("number");
    expect(reference.tokens).toBeGreaterThan(0); // from the server's usage fields

    const out = join(dir, "killed");
    const child = spawn(process.execPath, [BIN, ...evalArgs(out, "--concurrency", "1")], { env: { PATH: process.env.PATH, ...env() }, stdio: "ignore" });
    while (lines(out) < 2) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const finished = lines(out);
    expect(finished).toBeLessThan(6);

    const before = server.requests.length;
    const resumed = await runCli(evalArgs(out, "--concurrency", "1"), env());
    expect(server.requests.length - before).toBe(6 - finished); // one call per query, finished ones skipped
    const { msPerQuery: _ms, ...same } = reference; // wall time is the one thing that differs
    expect(JSON.parse(resumed.stdout)).toMatchObject(same);
  }, 40_000);

  it("retries rate-limited queries with backoff and records hard failures as invalid answers", async () => {
    mode = "429-once";
    const retried = JSON.parse((await runCli(evalArgs(join(dir, "429"), "--concurrency", "3"), env())).stdout);
    expect(retried).toMatchObject({ n: 6, failures: 0 });
    expect(seen429.size).toBe(6);

    mode = "fail-user-2";
    const failed = await runCli(evalArgs(join(dir, "fail"), "--concurrency", "3"), env());
    const summary = JSON.parse(failed.stdout);
    expect(summary).toMatchObject({ n: 6, failures: 1 });
    // User 2's question counts as an invalid answer: it is wrong whatever it was before.
    const before = readFileSync(join(dir, "full", "results", "lamp-2m.rag-1.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.id === "200");
    expect(summary.metrics.accuracy).toBeCloseTo(reference.metrics.accuracy - (before.answer === before.gold ? 1 / 6 : 0), 12);
    mode = "ok";
  }, 30_000);

  it("eval report writes the tables and pictures of the runs in --out", async () => {
    const res = await runCli(["eval", "report", "--out", join(dir, "full"), "--json"], {});
    expect(res.code).toBe(0);
    const written = JSON.parse(res.stdout);
    const { accuracy, f1 } = reference.metrics;
    expect(readFileSync(written.markdown, "utf8")).toContain(`| rag-1 | – | – | ${accuracy.toFixed(3)} | ${f1.toFixed(3)} | – | – | – | – |`);
    expect(readdirSync(join(dir, "full", "report")).sort()).toEqual(["persona-similarity.svg", "report.json", "report.md", "scaling-batch.svg", "scaling-iterations.svg", "scaling-k.svg"]);
  });

  it("refuses a task whose labels the golds do not use, in one line", async () => {
    const res = await runCli(["eval", "--task", "lamp-2n", "--questions", files.questions, "--outputs", files.outputs, "--method", "prompt"], env());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^persona-agent: .*gold "sci-fi" of question "000" is not a lamp-2n label; is --task right\?\n$/);
  });
});

describe("persona-agent data download (local host via PERSONA_AGENT_LAMP_URL)", () => {
  const body = JSON.stringify({ task: "LaMP_2", golds: [{ id: "1", output: "comedy" }] });
  let url: string;
  let close: () => Promise<void>;
  let truncate = false;
  beforeAll(async () => {
    const server = createServer((req, res: ServerResponse) => {
      const path = req.url ?? "";
      if (path.startsWith("/html/")) return res.writeHead(200, { "content-type": "text/html" }).end("<html>not found</html>");
      if (!/^\/(time\/)?LaMP_2\/new\/(train|dev)\/\2_(questions|outputs)\.json$/.test(path)) return res.writeHead(404).end();
      res.writeHead(200, { "content-length": String(body.length) });
      if (truncate && path.includes("dev_outputs")) {
        res.write(body.slice(0, 10));
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end(body);
    });
    url = `http://127.0.0.1:${await listen(server)}`;
    close = () => closeServer(server);
  });
  afterAll(() => close());

  it("downloads train and dev questions and outputs into the cache, then reuses them", async () => {
    const cache = join(dir, "lamp-cache");
    const res = await runCli(["data", "download", "--task", "lamp-2m", "--split", "time", "--cache", cache, "--json"], { PERSONA_AGENT_LAMP_URL: url });
    expect(res.stderr).toBe("");
    const got = JSON.parse(res.stdout);
    expect(got.map((f: { url: string }) => f.url.slice(url.length))).toEqual([
      "/time/LaMP_2/new/train/train_questions.json",
      "/time/LaMP_2/new/train/train_outputs.json",
      "/time/LaMP_2/new/dev/dev_questions.json",
      "/time/LaMP_2/new/dev/dev_outputs.json",
    ]);
    expect(readFileSync(join(cache, "lamp-2m", "time", "dev_outputs.json"), "utf8")).toBe(body);
    const again = JSON.parse((await runCli(["data", "download", "--task", "lamp-2m", "--split", "time", "--cache", cache, "--json"], { PERSONA_AGENT_LAMP_URL: url })).stdout);
    expect(again.every((f: { cached: boolean }) => f.cached)).toBe(true);
  });

  it("fails a truncated download in one line and leaves no partial file", async () => {
    truncate = true;
    const cache = join(dir, "truncated");
    const res = await runCli(["data", "download", "--task", "lamp-2m", "--cache", cache], { PERSONA_AGENT_LAMP_URL: url });
    truncate = false;
    expect(res.code).toBe(3); // the download host failed, not the user
    expect(res.stderr).toMatch(new RegExp(`^persona-agent: download of ${url}/LaMP_2/new/dev/dev_outputs.json (is truncated: got 10 of ${body.length} bytes|broke off after 10 of ${body.length} bytes: .*)\\n$`));
    expect(readdirSync(join(cache, "lamp-2m", "user")).sort()).toEqual(["dev_questions.json", "train_outputs.json", "train_questions.json"]);
  });

  it("rejects an HTML error page served with 200, and says what to do offline", async () => {
    const html = await runCli(["data", "download", "--task", "lamp-2m", "--cache", join(dir, "html")], { PERSONA_AGENT_LAMP_URL: `${url}/html` });
    expect(html.stderr).toMatch(/^persona-agent: .*train_questions\.json is not JSON \(the server sent an error page\?\)\n$/);
    expect(html.code).toBe(3);
    expect(readdirSync(join(dir, "html", "lamp-2m", "user"))).toEqual([]);
    const offline = await runCli(["data", "download", "--task", "lamp-1", "--cache", join(dir, "offline")], { PERSONA_AGENT_LAMP_URL: await unreachableUrl("") });
    expect(offline.code).toBe(3);
    expect(offline.stderr).toMatch(/^persona-agent: cannot download http:\/\/127\.0\.0\.1:\d+\/LaMP_1\/train\/train_questions\.json: ECONNREFUSED \(offline\? set PERSONA_AGENT_LAMP_URL to a mirror\)\n$/);
  });
});
