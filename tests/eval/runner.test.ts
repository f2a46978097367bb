/**
 * Issue #11 items 3-4: infrastructure failures stop `eval`, a query's own model failure is counted
 * next to the metric, the run key names everything that changes answers (dev and test runs in one
 * --out never overwrite each other), and a user's profile is embedded once per embedding model
 * for every method, ablation and rerun.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { AIMessage } from "@langchain/core/messages";
import { describeProviderError } from "../../src/models/chat.js";
import { generateExamples } from "../../apps/eval/synthetic.js";
import { legacyRunKey, resultsPath, runEval, runIdOf, type EvalOptions } from "../../apps/eval/runner.js";
import { DEFAULT_SETTINGS } from "../../src/configuration/settings.js";
import { profileInteractions } from "../../apps/eval/data/lamp.js";
import { lampToUsers } from "../../apps/eval/data/oppu.js";
import { ScriptedChatModel } from "../../testing/scripted-model.js";
import { startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { tempDir } from "../../testing/fixtures.js";
import { lampScript } from "../../testing/lamp-script.js";

const dirs: string[] = [];
const out = () => {
  const dir = tempDir("eval-runner-");
  dirs.push(dir);
  return dir;
};
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const users = (n = 3) =>
  lampToUsers("lamp-2m", generateExamples("lamp-2m", { users: n, items: 4, queries: 2, dated: true }), "time").users;

function options(outDir: string, more: Partial<EvalOptions> = {}): EvalOptions {
  return {
    task: "lamp-2m",
    method: "rag-1",
    users: users(),
    userCount: 3,
    concurrency: 1,
    outDir,
    model: new ScriptedChatModel(lampScript("lamp-2m")),
    modelId: "scripted",
    settings: DEFAULT_SETTINGS,
    params: { k: 4, batch: 3, iterations: 1 },
    run: { data: ["dev.json#abc"], split: "time", seed: 0 },
    retryForMs: 0,
    backoffMs: 1,
    ...more,
  };
}

/** A chat model whose `fail`-th call throws `error`, the others answer as the LaMP script does. */
function failingModel(fail: number, error: () => Error) {
  let call = 0;
  const script = lampScript("lamp-2m");
  return new ScriptedChatModel((messages, info) => {
    if (++call === fail) throw error();
    return script(messages, info) as AIMessage | string;
  });
}

const httpError = (status: number) => Object.assign(new Error(`${status} status code`), { status });
const connectionError = () =>
  Object.assign(new Error("Connection error."), { name: "APIConnectionError", cause: { code: "ECONNREFUSED" } });

describe("fail loudly", () => {
  it("a query's own model failure (HTTP 400) is counted and scored invalid; the run goes on", async () => {
    const s = await runEval(options(out(), { model: failingModel(2, () => httpError(400)) }));
    expect(s).toMatchObject({ users: 3, queries: 6, failures: 1, complete: true });
  });

  it("the provider going away mid-run stops the run with its error; what finished is kept and resumed", async () => {
    const dir = out();
    const error = await runEval(options(dir, { model: failingModel(3, connectionError) })).catch((e: unknown) => e);
    expect(describeProviderError(error)).toMatch(/^cannot reach the model provider at \S+ \(ECONNREFUSED\)/);
    const resumed = await runEval(options(dir));
    expect(resumed).toMatchObject({ queries: 6, failures: 0, ran: 4 }); // the 2 answered before the outage stay
  });

  it("credentials refused (HTTP 401) stop the run: the same for every query", async () => {
    await expect(runEval(options(out(), { model: failingModel(2, () => httpError(401)) }))).rejects.toThrow(
      "401 status code",
    );
  });

  it("a setup or infrastructure error (here: a bug-like TypeError, e.g. a missing native addon) stops the run too", async () => {
    await expect(
      runEval(
        options(out(), { model: failingModel(1, () => new TypeError("faiss.IndexFlatL2 is not a constructor")) }),
      ),
    ).rejects.toThrow(TypeError);
  });
});

describe("embedding provider stopped mid-run", () => {
  it("stops the run with its error instead of scoring the remaining users as wrong", async () => {
    const server = await startOpenAIServer([]);
    const saved = process.env.OPENAI_BASE_URL;
    process.env.OPENAI_BASE_URL = server.url;
    try {
      let finished = 0;
      const settings = { ...DEFAULT_SETTINGS, embeddings: "openai:text-embedding-3-small" };
      const run = runEval(
        options(out(), {
          method: "react",
          settings,
          onProgress: ({ done }) => {
            if (done > 0 && finished++ === 0) void server.close(); // after the first answered query
          },
        }),
      );
      const error = await run.catch((e: unknown) => e);
      expect(describeProviderError(error)).toMatch(/^cannot reach the model provider/);
    } finally {
      if (saved === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = saved;
    }
  }, 60_000);
});

describe("run key", () => {
  it("a changed temperature, embedding model, prompt set, data file or split is a new run; the same key resumes", async () => {
    const dir = out();
    const base = await runEval(options(dir));
    expect(base.ran).toBe(6);
    expect((await runEval(options(dir))).ran).toBe(0); // same key: nothing re-asked
    const variants: Partial<EvalOptions>[] = [
      { settings: { ...DEFAULT_SETTINGS, temperature: 0.7 } },
      { settings: { ...DEFAULT_SETTINGS, embeddings: "openai:text-embedding-3-small" } },
      { settings: { ...DEFAULT_SETTINGS, promptSet: "tuned" } },
      { run: { data: ["test.json#def"], split: "time", seed: 0 } },
      { run: { data: ["dev.json#abc"], split: "user", seed: 0 } },
      { params: { k: 2, batch: 3, iterations: 1 } },
    ];
    const ids = new Set([base.runId]);
    for (const variant of variants) {
      const s = await runEval(options(dir, variant));
      expect(s.ran).toBe(6);
      ids.add(s.runId);
    }
    expect(ids.size).toBe(variants.length + 1);
    // Dev and test runs (and every other variant) keep their own results and summaries in one --out.
    expect((await readdir(`${dir}/summaries`)).length).toBe(variants.length + 1);
    expect((await readdir(`${dir}/results`)).length).toBe(variants.length + 1);
  });
});

describe("results of older versions", () => {
  it("a results file keyed by the data's path (older versions) is taken over by the same command: nothing is asked again", async () => {
    const dir = out();
    const files = ["data/dev.json"];
    const opts = options(dir, { run: { data: ["abc"], files, split: "time", seed: 0 } });
    const first = await runEval(opts);
    // What an older version wrote: the records under the run id of `path#hash`, no journaled calls.
    const legacy = legacyRunKey(first.runKey, files)!;
    expect(legacy.data).toEqual(["data/dev.json#abc"]);
    const lines = (await readFile(resultsPath(dir, first.runKey), "utf8"))
      .split("\n")
      .filter((l) => l.startsWith('{"key"'));
    await writeFile(
      resultsPath(dir, legacy),
      lines
        .map((l) => JSON.stringify({ ...JSON.parse(l), key: JSON.stringify([runIdOf(legacy), JSON.parse(l).id]) }))
        .join("\n") + "\n",
    );
    await rm(`${dir}/summaries`, { recursive: true });
    await rm(resultsPath(dir, first.runKey));

    const notices: string[] = [];
    const again = await runEval({ ...opts, onNotice: (line) => notices.push(line) });
    expect(again).toMatchObject({ ran: 0, runId: first.runId, metrics: first.metrics, calls: first.calls, queries: 6 });
    expect(notices).toEqual([
      `took over 6 finished queries of this run from ${resultsPath(dir, legacy)} (written by an older version, which named runs by the data's path)`,
    ]);
    expect(again.spent.calls).toBe(first.calls); // what they cost is still counted
    // Once taken over, a further run reads its own file only.
    const third: string[] = [];
    expect((await runEval({ ...opts, onNotice: (line) => third.push(line) })).ran).toBe(0);
    expect(third).toEqual([]);
  });
});

describe("embed once", () => {
  let server: OpenAITestServer;
  const saved = process.env.OPENAI_BASE_URL;
  beforeAll(async () => {
    server = await startOpenAIServer([]);
    process.env.OPENAI_BASE_URL = server.url;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.OPENAI_BASE_URL;
    else process.env.OPENAI_BASE_URL = saved;
    await server.close();
  });

  it("a user's profile is embedded once per embedding model, shared by every method and rerun", async () => {
    const dir = out();
    const population = users();
    const embedded = () =>
      server.embeddingRequests.flatMap((body) => (Array.isArray(body.input) ? body.input : [body.input]) as string[]);
    // What is embedded is each item's content and answer (OPPU's record), not the task's question around it.
    const profileTexts = new Set(
      (await Promise.all(population.map((u) => profileInteractions("lamp-2m", u.id, u.profile))))
        .flat()
        .map((e) => e.metadata!.content as string),
    );
    const settings = { ...DEFAULT_SETTINGS, embeddings: "openai:text-embedding-3-small" };
    const profileEmbeds = (methods: EvalOptions["method"][]) => async () => {
      const before = embedded().length;
      for (const method of methods) await runEval(options(dir, { method, settings, users: population }));
      return embedded()
        .slice(before)
        .filter((t) => profileTexts.has(t)).length;
    };
    expect(await profileEmbeds(["persona-agent-no-alignment"])()).toBe(profileTexts.size); // each profile text once
    expect(embedded().some((t) => t.includes("Which tag"))).toBe(false); // the task's instruction is never embedded as memory text
    // Other methods and ablations, and a rerun of the first under another key, embed no profile text again.
    expect(await profileEmbeds(["react", "membank", "persona-agent-no-action", "persona-agent-no-persona"])()).toBe(0);
    const rerun = async () => {
      const before = embedded().length;
      await runEval(
        options(dir, {
          method: "persona-agent-no-alignment",
          settings: { ...settings, temperature: 0.5 },
          users: population,
        }),
      );
      return embedded()
        .slice(before)
        .filter((t) => profileTexts.has(t)).length;
    };
    expect(await rerun()).toBe(0);
  }, 120_000);
});
