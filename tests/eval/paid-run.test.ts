/**
 * Issue #22: an evaluation run a researcher pays for (real CLI, local OpenAI-protocol server).
 * The same data under another path or working directory is the same run; a provider failing for
 * a while then recovering loses no query; queries still failing after --retry-for give exit 4 and
 * are the only ones asked again; a log (stderr not a terminal) gets progress lines while the run
 * goes on; every answered call is paid once in `spent`, across a kill.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { LAMP_LABELS } from "../../apps/eval/data/lamp.js";
import { writeSyntheticLamp } from "../../apps/eval/synthetic.js";
import { lampFlags, runCli, spawnCli } from "../support/cli.js";
import { connectionReset, hang, rateLimited, serverError } from "../support/fault-server.js";
import { tempDir } from "../../testing/fixtures.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { respondWith, textOf, type ScriptedReply } from "../../testing/scripted-chat.js";
import { majority } from "../../testing/lamp-script.js";

const dir = tempDir("eval-paid-");
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The user a LaMP-2M question is about (the synthetic data names them in the description). */
const userOf = (req: { messages: { content: unknown }[] }) =>
  /of user (\d+)/.exec(
    req.messages
      .map((m) => textOf(m.content as never))
      .join("\n")
      .split("Which tag")[1] ?? "",
  )?.[1];
const answer = (req: { messages: { content: unknown }[] }) =>
  majority(
    req.messages.map((m) => textOf(m.content as never)),
    LAMP_LABELS["lamp-2m"]!,
  ) ?? "no idea";

describe("eval: a run a researcher pays for", () => {
  let server: OpenAITestServer;
  let files: { questions: string; outputs: string };
  /** Replaces the answer to a request; undefined = answer normally. */
  let fault: (req: Parameters<typeof userOf>[0]) => ScriptedReply | Promise<ScriptedReply> | undefined = () =>
    undefined;
  beforeAll(async () => {
    files = await writeSyntheticLamp(dir, "lamp-2m", { users: 6, items: 4, queries: 2, dated: true });
    server = await startOpenAIServer(respondWith(async (req) => (await fault(req)) ?? answer(req)));
  });
  afterAll(() => server.close());
  afterEach(() => {
    fault = () => undefined;
  });

  const env = (more: Record<string, string> = {}) => ({
    OPENAI_BASE_URL: server.url,
    OPENAI_API_KEY: "k",
    PERSONA_AGENT_MAX_RETRIES: "0",
    PERSONA_AGENT_MODEL: "openai:gpt-4o-mini",
    PERSONA_AGENT_EMBEDDINGS: "openai:emb",
    ...more,
  });
  const evalArgs = (out: string, data = files, ...more: string[]) => [
    "eval",
    ...lampFlags("lamp-2m", data),
    "--method",
    "rag-1",
    "--out",
    out,
    "--json",
    "--backoff-ms",
    "20",
    ...more,
  ];
  const asked = async (run: () => Promise<unknown>) => {
    const before = server.requests.length;
    await run();
    return server.requests.length - before;
  };

  it("the same data under another path and working directory is the same run: nothing is asked again", async () => {
    const out = join(dir, "identity");
    const first = await runCli(evalArgs(out), env());
    expect(first.code).toBe(0);
    const { runId, dataFingerprint } = JSON.parse(first.stdout);

    // The files copied elsewhere, named relative to another working directory.
    const elsewhere = join(dir, "copy", "deeper");
    mkdirSync(elsewhere, { recursive: true });
    copyFileSync(files.questions, join(elsewhere, "q.json"));
    copyFileSync(files.outputs, join(elsewhere, "o.json"));
    const cwd = join(dir, "copy");
    let again: Awaited<ReturnType<typeof runCli>> | undefined;
    const calls = await asked(async () => {
      again = await runCli(
        evalArgs(relative(cwd, out), { questions: "deeper/q.json", outputs: "./deeper/o.json" }),
        env(),
        undefined,
        cwd,
      );
    });
    expect(again!.code).toBe(0);
    expect(calls).toBe(0);
    expect(JSON.parse(again!.stdout)).toMatchObject({ runId, dataFingerprint, queries: 12, failures: 0 });
    expect(readdirSync(join(out, "summaries"))).toHaveLength(1); // one run, one summary

    // Other content is another run.
    const edited = join(dir, "copy", "edited.json");
    copyFileSync(files.outputs, edited);
    const golds = JSON.parse(readFileSync(edited, "utf8"));
    golds.golds[0].output = golds.golds[0].output === "comedy" ? "action" : "comedy";
    writeFileSync(edited, JSON.stringify(golds));
    const other = await runCli(evalArgs(out, { questions: files.questions, outputs: edited }), env());
    expect(JSON.parse(other.stdout).runId).not.toBe(runId);
  }, 60_000);

  it("a provider failing for a while (5xx, 429, connection resets) then recovering loses no query", async () => {
    let recoversAt: number | undefined; // 2 s after the first request
    let errors = 0;
    const kinds = [() => serverError(503), () => rateLimited(0), () => connectionReset(), () => serverError(500)];
    fault = () => (Date.now() < (recoversAt ??= Date.now() + 2_000) ? kinds[errors++ % kinds.length]!() : undefined);
    const res = await runCli(evalArgs(join(dir, "flaky"), files, "--concurrency", "3", "--retry-for", "30"), env());
    expect(res.code).toBe(0);
    expect(errors).toBeGreaterThan(3); // every kind was served at least once
    expect(JSON.parse(res.stdout)).toMatchObject({ queries: 12, failures: 0 });
  }, 60_000);

  it("queries still failing after --retry-for: exit 4, how to resume, and the rerun asks only them", async () => {
    const out = join(dir, "failing");
    fault = (req) => (userOf(req) === "2" ? serverError(503) : undefined);
    const started = Date.now();
    const res = await runCli(evalArgs(out, files, "--retry-for", "0.5"), env());
    expect(Date.now() - started).toBeGreaterThan(2 * 500); // user 2's two queries each kept trying for --retry-for
    expect(res.code).toBe(4);
    expect(JSON.parse(res.stdout)).toMatchObject({ queries: 12, failures: 2 });
    expect(res.stderr.split("\n").at(-2)).toBe(
      `persona-agent: 2 of 12 queries failed (scored as invalid answers; the reasons are in ${out}/results); run the same command again to ask only the failed ones`,
    );

    fault = () => undefined;
    let rerun: Awaited<ReturnType<typeof runCli>> | undefined;
    expect(await asked(async () => (rerun = await runCli(evalArgs(out, files, "--retry-for", "0.5"), env())))).toBe(2);
    expect(rerun!.code).toBe(0);
    expect(JSON.parse(rerun!.stdout)).toMatchObject({ queries: 12, failures: 0 });
  }, 60_000);

  it("when stderr is not a terminal, a slow run prints progress lines with done/total, failures, tokens, cost and ETA", async () => {
    fault = (req) => ({ delayMs: 250, then: userOf(req) === "3" ? serverError(400) : { content: answer(req) } });
    const res = await runCli(
      evalArgs(join(dir, "slow"), files, "--concurrency", "1", "--progress-every", "0.3"),
      env(),
    );
    expect(res.code).toBe(4);
    const lines = res.stderr.split("\n").filter((l) => l.startsWith("eval lamp-2m rag-1: "));
    expect(lines.length).toBeGreaterThanOrEqual(6); // 12 queries x 250 ms, a line every 300 ms
    const parsed = lines.map((l) =>
      /^eval lamp-2m rag-1: (\d+)\/12 queries, (\d) failed, ([\d,]+) tokens, \$(\d+\.\d{4}), \S+ elapsed, (ETA after the first query|ETA \d+s|ETA \dm \d\ds|done)$/.exec(
        l,
      ),
    );
    expect(parsed.every(Boolean)).toBe(true);
    expect(parsed[0]![5]).toBe("ETA after the first query"); // printed at once, before any answer
    expect(parsed.some((m) => /^ETA \d/.test(m![5]!))).toBe(true);
    const done = parsed.map((m) => Number(m![1]));
    expect(done).toEqual([...done].sort((a, b) => a - b)); // it moves forward
    expect(done.at(-1)).toBe(12);
    const tokens = Number(parsed.at(-1)![3]!.replace(/,/g, ""));
    expect(tokens).toBe(JSON.parse(res.stdout).spent.tokens);
    expect(parsed.at(-1)![2]).toBe("2");
    // gpt-4o-mini's list price: $0.15 / $0.60 per million input / output tokens.
    const { spent } = JSON.parse(res.stdout);
    expect(spent.cost).toBeCloseTo((spent.inputTokens * 0.15 + spent.outputTokens * 0.6) / 1e6, 12);

    // A model without a price: "cost unknown", not $0; PERSONA_AGENT_PRICES gives it one.
    const unknown = await runCli(
      evalArgs(join(dir, "unpriced"), files, "--users", "1"),
      env({ PERSONA_AGENT_MODEL: "openai:my-model" }),
    );
    expect(unknown.stderr).toContain(", cost unknown, ");
    expect(JSON.parse(unknown.stdout).spent.cost).toBeNull();
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify({ "openai:my-model": { input: 1000000, output: 0 } }));
    const priced = await runCli(
      evalArgs(join(dir, "priced"), files, "--users", "1"),
      env({ PERSONA_AGENT_MODEL: "openai:my-model", PERSONA_AGENT_PRICES: prices }),
    );
    const pricedSpent = JSON.parse(priced.stdout).spent;
    expect(pricedSpent.cost).toBe(pricedSpent.inputTokens); // $1 per input token
    writeFileSync(prices, JSON.stringify({ "openai:my-model": { input: "cheap" } }));
    const bad = await runCli(
      evalArgs(join(dir, "priced"), files, "--users", "1"),
      env({ PERSONA_AGENT_MODEL: "openai:my-model", PERSONA_AGENT_PRICES: prices }),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `persona-agent: PERSONA_AGENT_PRICES=${prices}: the price of "openai:my-model" must be {"provider:model": {"input": dollars per million tokens, "output": ...}}\n`,
    );
  }, 60_000);

  it("calls answered before a kill are paid once: the rerun's spent counts them and its own, never twice", async () => {
    const out = join(dir, "killed");
    const pag = (to: string) => [
      "eval",
      ...lampFlags("lamp-2m", files),
      "--method",
      "pag-4",
      "--out",
      to,
      "--json",
      "--concurrency",
      "1",
    ];
    const args = pag(out);
    const clean = JSON.parse((await runCli(pag(join(dir, "clean")), env())).stdout);
    const first = server.requests.length;
    // The 5th model request of the killed run never gets an answer.
    fault = () => (server.requests.length - first === 5 ? hang() : undefined);
    const { child, exited } = spawnCli(args, env());
    const journaled = () => {
      const results = join(out, "results");
      const text = readdirSync(results)
        .map((n) => readFileSync(join(results, n), "utf8"))
        .join("");
      return text.split("\n").filter((l) => l.startsWith('{"spent"')).length;
    };
    while (server.requests.length - first < 5 || journaled() < 4) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGKILL");
    await exited;
    fault = () => undefined;
    const before = server.requests.length;
    const rerun = await runCli(args, env());
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    // 4 answered before the kill + every request of the rerun; the hung one never answered.
    expect(summary.spent.calls).toBe(4 + (server.requests.length - before));
    // The recorded answers cost what a run without a kill costs.
    expect(summary).toMatchObject({ calls: clean.calls, queries: 12, failures: 0 });
    expect(summary.spent.calls).toBeGreaterThan(clean.calls);
  }, 60_000);
});
