/**
 * The real executable: `eval` against the local OpenAI-compatible server (resume after SIGKILL,
 * rate-limit retries, failures recorded), `eval report`, and `data download` against a local host.
 */
import { spawn } from "node:child_process";
import { createServer, type ServerResponse } from "node:http";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { LAMP_LABELS, profileInteractions } from "../../apps/eval/data/lamp.js";
import { loadOppuUsers } from "../../apps/eval/data/oppu.js";
import { writeSyntheticLamp } from "../../apps/eval/synthetic.js";
import { BIN, lampFlags, runCli } from "../support/cli.js";
import { tempDir, unreachableUrl } from "../../testing/fixtures.js";
import { closeServer, listen, startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { respondWith } from "../../testing/scripted-chat.js";
import { majority } from "../../testing/lamp-script.js";
import { FIXTURE_POPULATION, writeLampPersonsFixture } from "../../testing/lamp-persons.js";

const dir = tempDir("eval-cli-");
afterAll(() => rm(dir, { recursive: true, force: true }));

const texts = (messages: { content?: unknown }[]) =>
  messages.map((m) => (typeof m.content === "string" ? m.content : ""));
/** stderr of an eval that had nothing to complain about: progress lines only (stderr is not a terminal here). */
const onlyProgress = (stderr: string) =>
  stderr
    .split("\n")
    .filter(Boolean)
    .every((line) => /^eval lamp-2m [\w-]+: \d+\/\d+ queries, \d+ failed, [\d,]+ tokens, /.test(line));

describe("persona-agent eval (real CLI, local OpenAI server)", () => {
  let reference: { metrics: { accuracy: number; f1: number }; tokens: number; msPerQuery: number; runId: string };
  let server: OpenAITestServer;
  let files: { questions: string; outputs: string };
  let mode: "ok" | "429-once" | "fail-user-2" = "ok";
  const seen429 = new Set<string>();
  beforeAll(async () => {
    // A time-split sample: 6 users with 2 test queries each.
    files = await writeSyntheticLamp(dir, "lamp-2m", { users: 6, items: 4, queries: 2, dated: true });
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

  const env = () => ({
    OPENAI_BASE_URL: server.url,
    PERSONA_AGENT_MAX_RETRIES: "0",
    PERSONA_AGENT_MODEL: "openai:gpt-4o-mini",
  });
  const evalArgs = (out: string, ...more: string[]) => [
    "eval",
    ...lampFlags("lamp-2m", files),
    "--method",
    "rag-1",
    "--out",
    out,
    "--json",
    "--backoff-ms",
    "5",
    ...more,
  ];
  /** The run's results file (named by its run key). */
  const resultsFile = (out: string) => {
    const names = existsSync(join(out, "results"))
      ? readdirSync(join(out, "results")).filter((n) => n.startsWith("lamp-2m.rag-1."))
      : [];
    return names.length === 1 ? join(out, "results", names[0]!) : undefined;
  };
  const lines = (out: string) => {
    const file = resultsFile(out);
    // Finished queries; the file also journals every answered model call (`{"spent": ...}` lines).
    return file && existsSync(file)
      ? readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l.startsWith('{"key"') && l.endsWith("}")).length
      : 0;
  };

  it("resumes a run killed midway without redoing finished queries, with the same metrics", async () => {
    const full = await runCli(evalArgs(join(dir, "full"), "--concurrency", "1"), env());
    expect(onlyProgress(full.stderr)).toBe(true);
    expect(full.code).toBe(0);
    reference = JSON.parse(full.stdout);
    // Every test query of every user is scored: several per user.
    expect(reference).toMatchObject({ task: "lamp-2m", method: "rag-1", users: 6, queries: 12, n: 12, calls: 12 });
    expect(typeof reference.tokens).toBe("number");
    expect(reference.tokens).toBeGreaterThan(0); // from the server's usage fields

    const out = join(dir, "killed");
    const child = spawn(process.execPath, [BIN, ...evalArgs(out, "--concurrency", "1")], {
      env: { PATH: process.env.PATH, ...env() },
      stdio: "ignore",
    });
    while (lines(out) < 2) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const finished = lines(out);
    expect(finished).toBeLessThan(12);

    const before = server.requests.length;
    const resumed = await runCli(evalArgs(out, "--concurrency", "1"), env());
    expect(server.requests.length - before).toBe(12 - finished); // one call per query, finished ones skipped
    const { msPerQuery: _ms, ...same } = reference; // wall time is the one thing that differs
    expect(JSON.parse(resumed.stdout)).toMatchObject(same);
  }, 40_000);

  it("retries rate-limited queries with backoff and records hard failures as invalid answers", async () => {
    mode = "429-once";
    const retried = JSON.parse((await runCli(evalArgs(join(dir, "429"), "--concurrency", "3"), env())).stdout);
    expect(retried).toMatchObject({ queries: 12, failures: 0 });
    expect(seen429.size).toBe(6);

    mode = "fail-user-2";
    const failed = await runCli(evalArgs(join(dir, "fail"), "--concurrency", "3"), env());
    expect(failed.code).toBe(4); // finished, with failed queries
    const summary = JSON.parse(failed.stdout);
    expect(summary).toMatchObject({ users: 6, queries: 12, failures: 2 });
    // User 2's two queries count as invalid answers: wrong whatever they were before.
    const before = readFileSync(resultsFile(join(dir, "full"))!, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => r.user === "200");
    expect(before).toHaveLength(2);
    const lost = before.filter((r) => r.answer === r.gold).length;
    expect(summary.metrics.accuracy).toBeCloseTo(reference.metrics.accuracy - lost / 12, 12);
    // Without --json the failures stand next to the metric.
    const text = await runCli(
      evalArgs(join(dir, "fail"), "--concurrency", "3").filter((a) => a !== "--json"),
      env(),
    );
    expect(text.stdout).toMatch(
      /^lamp-2m rag-1 on 6 users, 12 queries: accuracy \d\.\d{4} \(2 failed\), f1 \d\.\d{4} \(2 failed\)/,
    );
    mode = "ok";
  }, 30_000);

  it("a provider stopped mid-run stops eval non-zero in one line; the finished queries are kept", async () => {
    let served = 0;
    const stopping: OpenAITestServer = await startOpenAIServer(
      respondWith((req) => {
        if (++served <= 2) return majority(texts(req.messages), LAMP_LABELS["lamp-2m"]!) ?? "no idea";
        void stopping.close(); // the provider goes away: this and every later request find no server
        return { delayMs: 200, then: { content: "too late" } };
      }),
    );
    const out = join(dir, "down");
    // A refused connection is not a transient error: no waiting for --retry-for.
    const res = await runCli(evalArgs(out, "--concurrency", "1"), { ...env(), OPENAI_BASE_URL: stopping.url });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(
      /\npersona-agent: cannot reach the model provider at http:\/\/127\.0\.0\.1:\d+\S* \(.*\); check OPENAI_BASE_URL .*\n$/,
    );
    expect(lines(out)).toBe(2);
  }, 30_000);

  it("eval report writes the tables, figures and HTML page of the runs in --out; no runs is exit 2", async () => {
    const res = await runCli(["eval", "report", "--out", join(dir, "full"), "--html", "--json"], {});
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const written = JSON.parse(res.stdout);
    const { accuracy, f1 } = reference.metrics;
    const md = readFileSync(written.markdown, "utf8");
    expect(md).toMatch(
      new RegExp(`\\| LaMP-2M \\| Acc\\. ↑ \\| – / 0\\.387 \\| – / 0\\.283 \\| ${accuracy.toFixed(3)} / 0\\.320 \\(`),
    );
    expect(md).toMatch(
      new RegExp(`\\| LaMP-2M \\| F1 ↑ \\| – / 0\\.302 \\| – / 0\\.217 \\| ${f1.toFixed(3)} / 0\\.256 \\(`),
    );
    // Only a rag-1 run: the base-model bars; no persona-agent run, so no scaling or persona figures.
    expect(readdirSync(join(dir, "full", "report")).sort()).toEqual([
      "base-models.png",
      "base-models.svg",
      "report.html",
      "report.json",
      "report.md",
    ]);
    expect(readFileSync(written.html, "utf8")).toContain('<figure data-figure="base-models">');

    // --run names the runs to report: a prefix of the id is enough; an unknown one is a one-line mistake.
    const chosen = await runCli(
      ["eval", "report", "--out", join(dir, "full"), "--run", reference.runId.slice(0, 6), "--json"],
      {},
    );
    expect(chosen.code).toBe(0);
    expect(readFileSync(JSON.parse(chosen.stdout).markdown, "utf8")).toContain(`| ${reference.runId} | `);
    const unknown = await runCli(["eval", "report", "--out", join(dir, "full"), "--run", "zzzz"], {});
    expect([unknown.code, unknown.stderr]).toEqual([2, "persona-agent: --run zzzz: no run has this id\n"]);

    const none = await runCli(["eval", "report", "--out", join(dir, "no-such-run")], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      `persona-agent: ${join(dir, "no-such-run", "summaries")} does not exist: run \`persona-agent eval --out ${join(dir, "no-such-run")}\` first\n`,
    );
  }, 30_000);

  it("data convert writes OPPU's per-user format and ingest histories identical to eval's memory", async () => {
    const out = join(dir, "users.json");
    const histories = join(dir, "histories");
    const res = await runCli(
      [
        "data",
        "convert",
        ...lampFlags("lamp-2m", files),
        "--out",
        out,
        "--histories",
        histories,
        "--users",
        "2",
        "--json",
      ],
      {},
    );
    expect(res.stderr).toBe("");
    expect(JSON.parse(res.stdout)).toMatchObject({ users: 2, queries: 4 });
    const users = JSON.parse(readFileSync(out, "utf8"));
    expect(users.map((u: { user_id: string; query: unknown[] }) => [u.user_id, u.query.length])).toEqual([
      ["500", 2],
      ["400", 2],
    ]);
    const loaded = await loadOppuUsers(out);
    const expected = await profileInteractions("lamp-2m", loaded[0]!.id, loaded[0]!.profile);
    const written = readFileSync(join(histories, "500.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(written).toEqual(expected);
  });

  it("refuses a task whose labels the golds do not use, in one line", async () => {
    const res = await runCli(["eval", ...lampFlags("lamp-2n", files), "--method", "prompt"], env());
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^persona-agent: .*gold "sci-fi" of question "000" is not a lamp-2n label; is --task right\?\n$/,
    );
  });
});

describe("LaMP's question files to persons (issue #19, the persons fixture in LaMP's shapes)", () => {
  let fixture: Awaited<ReturnType<typeof writeLampPersonsFixture>>;
  let server: OpenAITestServer;
  beforeAll(async () => {
    fixture = await writeLampPersonsFixture(join(dir, "persons"), "lamp-2n");
    server = await startOpenAIServer(
      respondWith((req) => majority(texts(req.messages), LAMP_LABELS["lamp-2n"]!) ?? "no idea"),
    );
  });
  afterAll(() => server.close());
  const env = () => ({
    OPENAI_BASE_URL: server.url,
    PERSONA_AGENT_MAX_RETRIES: "0",
    PERSONA_AGENT_MODEL: "openai:gpt-4o-mini",
  });
  const POPULATION =
    "7 persons from 10 questions (3 merged into another's person); queries per person min 1, median 1, max 3; 4 profile items removed as a query's own item, 1 dated on or after the person's first query";

  it("data convert writes one user per person with LaMP's raw items, none of them a query's own, and prints the summary", async () => {
    const out = join(dir, "persons.json");
    const res = await runCli(["data", "convert", ...lampFlags("lamp-2n", fixture), "--out", out], {});
    expect(res.stderr).toBe("");
    expect(res.stdout).toBe(`${out}: 7 users, 10 queries\npopulation: ${POPULATION}\n`);
    const users = JSON.parse(readFileSync(out, "utf8"));
    expect(
      users.map((u: { user_id: string; query: { id: string }[] }) => [u.user_id, u.query.map((q) => q.id)]),
    ).toEqual([
      ["100", ["100", "101", "102"]],
      ["200", ["200", "201"]],
      ["300", ["300"]],
      ["400", ["400"]],
      ["500", ["500"]],
      ["600", ["600"]],
      ["700", ["700"]],
    ]);
    // LaMP's own items, unchanged (OPPU's format): the first question's ids and fields.
    expect(users[0].profile).toEqual(fixture.examples[0]!.profile.slice(0, 6));
    // The users file passes eval's leak check (eval --oppu reads it).
    const json = JSON.parse(
      (await runCli(["data", "convert", ...lampFlags("lamp-2n", fixture), "--out", out, "--json"], {})).stdout,
    );
    expect(json.population).toEqual(FIXTURE_POPULATION);
  });

  it("eval refuses a users file whose profile holds a query's own item: exit 2, one line naming the query", async () => {
    const leaky = join(dir, "leaky.json");
    const [journalist] = JSON.parse(readFileSync(join(dir, "persons.json"), "utf8"));
    const own = fixture.examples
      .find((e) => e.id === "101")!
      .profile.find((item) => /test\s+article\s+0/.test(item.text as string))!;
    writeFileSync(leaky, JSON.stringify([{ ...journalist, profile: [...journalist.profile, own] }]));
    const res = await runCli(
      ["eval", "--task", "lamp-2n", "--oppu", leaky, "--method", "prompt", "--out", join(dir, "leaky-out")],
      env(),
    );
    expect(res.code).toBe(2);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(
      `persona-agent: ${leaky}: query "100" of user "100" asks about profile item "${own.id}" of the same user, whose answer would be in memory; remove the item (persona-agent data convert does)\n`,
    );
  });

  it("eval groups the same way, prints the population, and skips (and names) a person with nothing to align on", async () => {
    const args = [
      "eval",
      ...lampFlags("lamp-2n", fixture),
      "--method",
      "persona-agent",
      "--users",
      "7",
      "--out",
      join(dir, "persons-out"),
    ];
    const res = await runCli(args, env());
    expect(res.code).toBe(0);
    expect(res.stderr.split("\n")[0]).toBe(`population: ${POPULATION}`); // then the progress lines
    expect(res.stdout).toMatch(
      /^lamp-2n persona-agent on 6 users, 9 queries: accuracy .*; skipped 1 user with nothing to align on: 300 \(1 query\)\n$/,
    );
    const rerun = JSON.parse((await runCli([...args, "--json"], env())).stdout);
    expect(rerun).toMatchObject({
      users: 6,
      queries: 9,
      skipped: [{ user: "300", queries: 1 }],
      population: { persons: 7 },
    });
  }, 60_000);
});

describe("persona-agent data download (local host via PERSONA_AGENT_LAMP_URL)", () => {
  const body = JSON.stringify({ task: "LaMP_2", golds: [{ id: "1", output: "comedy" }] });
  let url: string;
  let close: () => Promise<void>;
  let truncate = false;
  beforeAll(async () => {
    const server = createServer((req, res: ServerResponse) => {
      const path = req.url ?? "";
      if (path.startsWith("/html/"))
        return res.writeHead(200, { "content-type": "text/html" }).end("<html>not found</html>");
      if (!/^\/(time\/)?LaMP_2\/new\/(train|dev)\/\2_(questions|outputs)\.json$/.test(path))
        return res.writeHead(404).end();
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
    const res = await runCli(["data", "download", "--task", "lamp-2m", "--split", "time", "--cache", cache, "--json"], {
      PERSONA_AGENT_LAMP_URL: url,
    });
    expect(res.stderr).toBe("");
    const got = JSON.parse(res.stdout);
    expect(got.map((f: { url: string }) => f.url.slice(url.length))).toEqual([
      "/time/LaMP_2/new/train/train_questions.json",
      "/time/LaMP_2/new/train/train_outputs.json",
      "/time/LaMP_2/new/dev/dev_questions.json",
      "/time/LaMP_2/new/dev/dev_outputs.json",
    ]);
    expect(readFileSync(join(cache, "lamp-2m", "time", "dev_outputs.json"), "utf8")).toBe(body);
    const again = JSON.parse(
      (
        await runCli(["data", "download", "--task", "lamp-2m", "--split", "time", "--cache", cache, "--json"], {
          PERSONA_AGENT_LAMP_URL: url,
        })
      ).stdout,
    );
    expect(again.every((f: { cached: boolean }) => f.cached)).toBe(true);
  });

  it("fails a truncated download in one line and leaves no partial file", async () => {
    truncate = true;
    const cache = join(dir, "truncated");
    const res = await runCli(["data", "download", "--task", "lamp-2m", "--cache", cache], {
      PERSONA_AGENT_LAMP_URL: url,
    });
    truncate = false;
    expect(res.code).toBe(3); // the download host failed, not the user
    expect(res.stderr).toMatch(
      new RegExp(
        `^persona-agent: download of ${url}/time/LaMP_2/new/dev/dev_outputs.json (is truncated: got 10 of ${body.length} bytes|broke off after 10 of ${body.length} bytes: .*)\\n$`,
      ),
    );
    expect(readdirSync(join(cache, "lamp-2m", "time")).sort()).toEqual([
      "dev_questions.json",
      "train_outputs.json",
      "train_questions.json",
    ]);
  });

  it("rejects an HTML error page served with 200, and says what to do offline", async () => {
    const html = await runCli(["data", "download", "--task", "lamp-2m", "--cache", join(dir, "html")], {
      PERSONA_AGENT_LAMP_URL: `${url}/html`,
    });
    expect(html.stderr).toMatch(
      /^persona-agent: .*train_questions\.json is not JSON \(the server sent an error page\?\)\n$/,
    );
    expect(html.code).toBe(3);
    expect(readdirSync(join(dir, "html", "lamp-2m", "time"))).toEqual([]);
    const offline = await runCli(["data", "download", "--task", "lamp-1", "--cache", join(dir, "offline")], {
      PERSONA_AGENT_LAMP_URL: await unreachableUrl(""),
    });
    expect(offline.code).toBe(3);
    expect(offline.stderr).toMatch(
      /^persona-agent: cannot download http:\/\/127\.0\.0\.1:\d+\/time\/LaMP_1\/train\/train_questions\.json: ECONNREFUSED \(offline\? set PERSONA_AGENT_LAMP_URL to a mirror\)\n$/,
    );
  });
});
