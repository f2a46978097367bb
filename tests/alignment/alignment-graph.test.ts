import { runInThisContext } from "node:vm";
import { InMemoryStore, MemorySaver } from "@langchain/langgraph";
import { ToolMessage } from "@langchain/core/messages";
import { PersonaStore } from "../../src/persona/persona.js";
import { UserError } from "../../src/errors/errors.js";
import { ALICE_HISTORY } from "../../testing/fixtures.js";
import type { EpisodicEntry } from "../../src/memory/episodic.js";
import { batchFor } from "../../src/alignment/nodes.js";
import { initialPersona } from "../../src/persona/persona.js";
import { PROMPT_SETS } from "../../src/configuration/settings.js";
import { episodicMemoryFor } from "../../src/services/services.js";
import {
  align,
  aliceConfigurable,
  aliceStore,
  EMB,
  filled,
  roleOf,
  scriptedModel,
} from "../../testing/alignment-harness.js";
import { builder } from "../../graphs/alignment.js";

const calls = (model: ReturnType<typeof scriptedModel>, role: string) =>
  model.calls.filter((c) => roleOf(c.messages) === role);

describe.each(PROMPT_SETS)("alignment graph, %s prompts", (set) => {
  const alignWith = (
    store: Parameters<typeof align>[0],
    model: Parameters<typeof align>[1],
    configurable: Record<string, unknown> = {},
  ) => align(store, model, { promptSet: set, ...configurable });

  test("batch 3: 3 simulations without leakage, 3 concurrent LLM_grad calls, 1 LLM_update with all feedback, +1 version", async () => {
    const store = await aliceStore(undefined, set);
    const personas = new PersonaStore(store);
    const before = (await personas.current("alice"))!;
    expect(before.persona).toBe(await initialPersona("ALICE PROFILE", set));
    const model = scriptedModel({ update: () => "ALIGNED PERSONA 1" }, 100);

    const result = await alignWith(store, model, { batchSize: 3 });

    const latest3 = ALICE_HISTORY.slice(-3);
    // Simulations: one agent run (retrieve + answer) per interaction of the batch, with the old persona.
    const agentCalls = calls(model, "agent");
    expect(agentCalls).toHaveLength(6);
    for (const c of agentCalls) expect(c.messages[0]!.text).toBe(before.persona);
    const simulatedQuestions = agentCalls.filter((c) => c.messages.length === 2).map((c) => c.messages[1]!.text);
    expect(simulatedQuestions.sort()).toEqual(latest3.map((e) => e.query).sort());
    // Leakage: each replay retrieves the other memories (k=4 of 4 stored) but never its own interaction.
    for (const c of agentCalls.filter((c) => c.messages.some((m) => ToolMessage.isInstance(m)))) {
      const question = c.messages[1]!.text;
      const memories = c.messages.find((m) => ToolMessage.isInstance(m))!.text;
      expect(memories).not.toContain(question);
      expect(memories.match(/^\[\d\]/gm)).toHaveLength(3);
    }

    // LLM_grad: one per interaction, each with its question, truth and simulated answer; all in flight at once.
    // The paper's prompt gets exactly Algorithm 1's (q, r̂, r_gt); the tuned one also the persona and tool calls.
    const grads = calls(model, "grad");
    expect(grads).toHaveLength(3);
    expect(grads.map((g) => filled(g.messages).question).sort()).toEqual(latest3.map((e) => e.query).sort());
    for (const g of grads) {
      const values = filled(g.messages);
      const entry = latest3.find((e) => e.query === values.question)!;
      expect(values.truth).toBe(entry.response);
      expect(values.response).toBe("simulated");
      if (set === "paper") expect(Object.keys(values).sort()).toEqual(["question", "response", "truth"]);
      else
        expect(values).toMatchObject({
          persona: before.persona,
          tool_calls: `memory_retrieval({"query":${JSON.stringify(entry.query)}})`,
        });
    }
    const lastStart = Math.max(...grads.map((g) => g.startedAt));
    const firstEnd = Math.min(...grads.map((g) => g.endedAt!));
    expect(lastStart).toBeLessThan(firstEnd); // every call started before any finished (each takes 100 ms)

    // LLM_update: exactly one, seeing the current persona and all three feedbacks (in batch order).
    const updates = calls(model, "update");
    expect(updates).toHaveLength(1);
    const update = filled(updates[0]!.messages);
    expect(update.persona).toBe(before.persona);
    if (set === "paper") {
      // Algorithm 1: LLM_update(aggregated feedback, P), nothing else: no question, answer or truth.
      expect(update.feedback).toBe(latest3.map((e, i) => `[${i + 1}] FEEDBACK for ${e.query}`).join("\n\n"));
    } else {
      for (const e of latest3) expect(update.feedback).toContain(`Feedback: FEEDBACK for ${e.query}`);
      for (const e of latest3)
        expect(update.feedback).toContain(
          `Question: ${e.query}\nAssistant's answer: simulated\nUser's true answer: ${e.response}`,
        );
    }
    expect(updates[0]!.startedAt).toBeGreaterThanOrEqual(Math.max(...grads.map((g) => g.endedAt!)));

    // Checkpoint: the update's output is the new current version, with the feedback that produced it and the prompt set.
    const after = (await personas.current("alice"))!;
    expect(after).toMatchObject({
      version: before.version + 1,
      persona: "ALIGNED PERSONA 1",
      origin: "aligned",
      promptSet: set,
    });
    expect(before.promptSet).toBe(set);
    expect(after.details).toMatchObject({ basedOn: before.version, iteration: 1 });
    expect((after.details!.feedback as { feedback: string }[]).map((f) => f.feedback).sort()).toEqual(
      latest3.map((e) => `FEEDBACK for ${e.query}`).sort(),
    );
    expect(result).toMatchObject({ user: "alice", fromVersion: 1, toVersion: 2 });
    expect(result.iterations).toHaveLength(1);
    expect(result.iterations[0]!.feedback.map((f) => f.query)).toEqual(latest3.map((e) => e.query)); // batch order
  });

  test("E=2: a batch obtained in each iteration; the second simulates with the first iteration's persona", async () => {
    const store = await aliceStore(undefined, set);
    let n = 0;
    const model = scriptedModel({ update: () => `ALIGNED PERSONA ${++n}` });
    const result = await alignWith(store, model, { batchSize: 2, iterations: 2 });

    const history = await new PersonaStore(store).history("alice");
    expect(history.map((v) => [v.version, v.persona, v.promptSet])).toEqual([
      [1, expect.any(String), set],
      [2, "ALIGNED PERSONA 1", set],
      [3, "ALIGNED PERSONA 2", set],
    ]);
    expect(result.iterations.map((i) => i.version)).toEqual([2, 3]);
    expect(calls(model, "grad")).toHaveLength(4);
    expect(calls(model, "update")).toHaveLength(2);
    // Algorithm 1 line 13: iteration 1 takes the latest 2 interactions, iteration 2 the 2 before them.
    expect(result.iterations.map((i) => i.feedback.map((f) => f.query))).toEqual([
      ALICE_HISTORY.slice(2).map((e) => e.query),
      ALICE_HISTORY.slice(0, 2).map((e) => e.query),
    ]);
    // Iteration 2 replays its own batch with the persona iteration 1 produced.
    const replays = calls(model, "agent").filter((c) => c.messages.length === 2);
    expect(replays.slice(0, 2).map((c) => c.messages[0]!.text)).toEqual(Array(2).fill(history[0]!.persona));
    expect(
      replays
        .slice(-2)
        .map((c) => [c.messages[0]!.text, c.messages[1]!.text])
        .sort(),
    ).toEqual(
      ALICE_HISTORY.slice(0, 2)
        .map((e) => ["ALIGNED PERSONA 1", e.query])
        .sort(),
    );
    // the second update refines the first iteration's persona
    expect(filled(calls(model, "update")[1]!.messages).persona).toBe("ALIGNED PERSONA 1");
  });

  test("LLM_update's request holds no true answer in the paper set", async () => {
    const store = await aliceStore(undefined, set);
    // A truth no feedback mentions: only the tuned aggregation shows it to LLM_update.
    const model = scriptedModel({ grad: () => "prefer the user's own tags", update: () => "NEXT" });
    await alignWith(store, model, { batchSize: 4 });
    const prompt = calls(model, "update")[0]!.messages.at(-1)!.text;
    const truths = ["sci-fi", "dystopia"];
    if (set === "paper") for (const truth of truths) expect(prompt).not.toContain(truth);
    else for (const truth of truths) expect(prompt).toContain(`User's true answer: ${truth}`);
  });
});

describe("alignment graph", () => {
  test("a failing LLM_grad call fails the run clearly and saves nothing", async () => {
    const store = await aliceStore();
    const model = scriptedModel({
      grad: (m) => {
        if (filled(m).question === ALICE_HISTORY[2]!.query) throw new Error("model overloaded");
        return "fine";
      },
    });
    const run = align(store, model, { batchSize: 3 });
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(
      /^alignment failed: feedback \(LLM_grad\) on interaction [0-9a-f]+: model overloaded; nothing was saved, the persona stays at v1$/,
    );
    expect(calls(model, "update")).toHaveLength(0);
    const history = await new PersonaStore(store).history("alice");
    expect(history.map((v) => v.version)).toEqual([1]);
  });

  test("E=2 whose second LLM_update fails saves nothing: the first iteration's persona never becomes current", async () => {
    const store = await aliceStore();
    const personas = new PersonaStore(store);
    const before = await personas.history("alice");
    let n = 0;
    const model = scriptedModel({
      update: () => {
        if (++n === 2) throw new Error("model overloaded");
        return "ALIGNED PERSONA 1";
      },
    });
    await expect(align(store, model, { batchSize: 2, iterations: 2 })).rejects.toThrow(
      /^alignment failed: persona update \(LLM_update\): model overloaded; nothing was saved, the persona stays at v1$/,
    );
    expect(calls(model, "update")).toHaveLength(2);
    expect(await personas.history("alice")).toEqual(before);
    expect(await personas.current("alice")).toEqual(before.at(-1));
  });

  test("E=3 saves each iteration's persona as its own version, all at once at the end", async () => {
    const store = await aliceStore();
    const personas = new PersonaStore(store);
    let n = 0;
    const seen: number[] = [];
    const model = scriptedModel({
      update: async () => {
        seen.push((await personas.current("alice"))!.version); // nothing is saved while iterating
        return `ALIGNED PERSONA ${++n}`;
      },
    });
    const result = await align(store, model, { batchSize: 2, iterations: 3 });
    expect(result).toMatchObject({ fromVersion: 1, toVersion: 4 });
    expect(result.iterations.map((i) => i.version)).toEqual([2, 3, 4]);
    const history = await personas.history("alice");
    expect(history.map((v) => [v.version, v.persona, v.origin])).toEqual([
      [1, expect.any(String), "initialized"],
      [2, "ALIGNED PERSONA 1", "aligned"],
      [3, "ALIGNED PERSONA 2", "aligned"],
      [4, "ALIGNED PERSONA 3", "aligned"],
    ]);
    expect(history.slice(1).map((v) => [v.details!.iteration, v.details!.basedOn])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(seen).toEqual([1, 1, 1]);
  });

  test("a second alignment on the same thread saves only its own iterations", async () => {
    const store = await aliceStore();
    const graph = builder.compile({ store, checkpointer: new MemorySaver() });
    let n = 0;
    const model = scriptedModel({ update: () => `ALIGNED PERSONA ${++n}` });
    const configurable = aliceConfigurable(model, { thread_id: "t", batchSize: 2, iterations: 2 });
    await graph.invoke({}, { configurable });
    const second = (await graph.invoke({}, { configurable })).alignment!;
    expect(second).toMatchObject({ fromVersion: 3, toVersion: 5 });
    expect(second.iterations.map((i) => i.version)).toEqual([4, 5]);
    expect((await new PersonaStore(store).history("alice")).map((v) => v.persona).slice(1)).toEqual([
      "ALIGNED PERSONA 1",
      "ALIGNED PERSONA 2",
      "ALIGNED PERSONA 3",
      "ALIGNED PERSONA 4",
    ]);
  });

  test("an alignment that another saved over meanwhile fails at the end and saves none of its iterations", async () => {
    const store = await aliceStore();
    const personas = new PersonaStore(store);
    let n = 0;
    const model = scriptedModel({
      update: async () => {
        if (++n === 2) await personas.save("alice", "FROM ANOTHER RUN", "aligned", undefined, { basedOn: 1 });
        return `ALIGNED PERSONA ${n}`;
      },
    });
    await expect(align(store, model, { batchSize: 2, iterations: 2 })).rejects.toThrow(
      /changed while this run worked on v1 \(now v2\); nothing was saved/,
    );
    expect((await personas.history("alice")).map((v) => v.persona).slice(1)).toEqual(["FROM ANOTHER RUN"]);
  });

  test.each([
    ["empty", ""],
    ["whitespace", "  \n "],
  ])("an LLM_update that returns %s text fails the run and saves nothing", async (_name, reply) => {
    const store = await aliceStore();
    const before = (await new PersonaStore(store).current("alice"))!;
    await expect(align(store, scriptedModel({ update: () => reply }))).rejects.toThrow(
      new UserError(
        "alignment failed: persona update (LLM_update): the model returned empty text; nothing was saved, the persona stays at v1",
      ),
    );
    expect(await new PersonaStore(store).current("alice")).toEqual(before);
    expect(await new PersonaStore(store).history("alice")).toHaveLength(1);
  });

  /** Runs `fn` and returns the MaxListenersExceededWarning messages Node emitted meanwhile. */
  async function listenerWarnings(fn: () => Promise<void>): Promise<string[]> {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    // Jest hands tests a copy of `process`; Node emits warnings on the real one.
    const realProcess = runInThisContext("process") as NodeJS.Process;
    realProcess.on("warning", onWarning);
    try {
      await fn();
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      realProcess.off("warning", onWarning);
    }
    return warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message);
  }

  async function wideStore() {
    const store = await aliceStore();
    const history = Array.from({ length: 24 }, (_, i) => ({
      query: `Tag this movie: wide ${i}`,
      response: "sci-fi",
      timestamp: `2024-03-${String(i + 1).padStart(2, "0")}T10:00:00Z`,
    }));
    await episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 }).add(
      "alice",
      history,
    );
    return store;
  }

  test("a batch of 16 replays and grades all at once without a MaxListenersExceededWarning", async () => {
    const store = await wideStore();
    const model = scriptedModel({}, 20);
    const warnings = await listenerWarnings(() => align(store, model, { batchSize: 16 }).then(() => undefined));
    const grads = calls(model, "grad");
    expect(grads).toHaveLength(16);
    expect(Math.max(...grads.map((g) => g.startedAt))).toBeLessThan(Math.min(...grads.map((g) => g.endedAt!))); // all in flight at once
    expect(warnings).toEqual([]);
  });

  test("validation replays 2 × 8 held-out interactions at once in one step without a MaxListenersExceededWarning", async () => {
    const store = await wideStore();
    const model = scriptedModel({}, 20);
    const warnings = await listenerWarnings(() =>
      align(store, model, { batchSize: 8, validate: true, validationSize: 8 }).then(() => undefined),
    );
    expect(calls(model, "agent")).toHaveLength(2 * (8 + 16)); // two turns per replay: 8 simulations, 16 validation replays
    expect(warnings).toEqual([]);
  });

  test("unknown user and nothing to align on are user errors", async () => {
    const store = new InMemoryStore();
    await expect(align(store, scriptedModel({}))).rejects.toThrow('unknown user "alice": no persona yet');
  });
});

test("batchFor: latest n first, then the n before them, wrapping when no full batch is left; held-out just before the batch", () => {
  const entries = Array.from({ length: 7 }, (_, i) => ({ id: `e${i}` }) as EpisodicEntry);
  const ids = (xs: EpisodicEntry[]) => xs.map((e) => e.id);
  const batches = (validationSize: number) => [0, 1, 2, 3].map((i) => batchFor(entries, i, 3, validationSize));
  expect(batches(0).map((b) => ids(b.batch))).toEqual([
    ["e4", "e5", "e6"],
    ["e1", "e2", "e3"],
    ["e4", "e5", "e6"],
    ["e1", "e2", "e3"],
  ]);
  expect(batches(0).every((b) => b.heldOut.length === 0)).toBe(true);
  expect(batches(2).map((b) => [ids(b.batch), ids(b.heldOut)])).toEqual([
    [
      ["e4", "e5", "e6"],
      ["e2", "e3"],
    ],
    [["e1", "e2", "e3"], ["e0"]],
    [
      ["e4", "e5", "e6"],
      ["e2", "e3"],
    ],
    [["e1", "e2", "e3"], ["e0"]],
  ]);
  // Fewer interactions than n: every iteration takes them all.
  expect(ids(batchFor(entries.slice(0, 2), 1, 3, 0).batch)).toEqual(["e0", "e1"]);
});
