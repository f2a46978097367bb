/**
 * The library internals this project relies on, each behind one adapter in src/adapters/ (or
 * the tool-call repair module), and the patch of patches/ applied to LangGraph on install. These
 * tests fail when a LangGraph upgrade changes one of them or drops the patch.
 */
import { Annotation, getConfig, InMemoryStore, Send, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { unwrapStore } from "../../src/adapters/batched-store.js";
import { malformedCallReplies, repairReply } from "../../src/agent/tool-call-repair.js";

const State = Annotation.Root({ seen: Annotation<unknown>() });

/** Runs one node with `probe` and returns what it saw. */
async function insideNode(probe: (config: LangGraphRunnableConfig) => unknown, options: { store?: InMemoryStore; configurable?: Record<string, unknown> } = {}): Promise<unknown> {
  const graph = new StateGraph(State)
    .addNode("probe", (_state, config) => ({ seen: probe(config) }))
    .addEdge(START, "probe")
    .compile({ store: options.store });
  return (await graph.invoke({}, { configurable: options.configurable })).seen;
}

describe("LangGraph internals behind adapters", () => {
  test("a node's store is an AsyncBatchedStore around the real one, and unwrapStore finds the real one", async () => {
    const store = new InMemoryStore();
    const seen = await insideNode((config) => [config.store !== store, unwrapStore(config.store!) === store], { store });
    expect(seen).toEqual([true, true]);
  });

  test("patched: tasks of one superstep get their own abort signals, still aborted with the run's (langgraphjs#1494)", async () => {
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    const Fan = Annotation.Root({ n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }) });
    let started = 0;
    let release: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => (release = resolve));
    const graph = new StateGraph(Fan)
      .addNode("fan", () => ({}))
      .addNode("work", async (_input: { i: number }, config: LangGraphRunnableConfig) => {
        signals.push(config.signal!);
        if (++started === 12) release();
        await new Promise((resolve, reject) => config.signal!.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
        return { n: 1 };
      })
      .addEdge(START, "fan")
      .addConditionalEdges("fan", () => Array.from({ length: 12 }, (_, i) => new Send("work", { i })), ["work"])
      .compile();
    const run = graph.invoke({}, { signal: controller.signal });
    await allStarted;
    // Unpatched, all 12 share one signal, and LangGraph's own listener per task passes Node's limit of 10.
    expect(new Set(signals).size).toBe(12);
    controller.abort();
    await expect(run).rejects.toThrow();
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  test("patched: untraced runnables keep their config in the async context without building a LangSmith RunTree each", async () => {
    const seen = (await insideNode(() => {
      const context = AsyncLocalStorageProviderSingleton.getInstance().getStore() as object | undefined;
      return [context?.constructor.name, getConfig().configurable?.probe];
    }, { configurable: { probe: "this run" } })) as [boolean, string];
    // Unpatched, every runnable call constructs a RunTree (ids, timestamps, env lookups) only to carry the config.
    expect(seen).toEqual(["Object", "this run"]);
  });

  test("ToolNode skips tool calls that already have a ToolMessage reply, so malformed calls are answered once", async () => {
    let runs = 0;
    const echo = tool(async ({ query }) => `ran ${query} (${++runs})`, { name: "echo", description: "echo", schema: z.object({ query: z.string() }) });
    const reply = repairReply(
      new AIMessage({
        content: "",
        tool_calls: [{ id: "ok", name: "echo", args: { query: "x" }, type: "tool_call" }],
        invalid_tool_calls: [{ id: "bad", name: "echo", args: "{query:", error: "Error: Unexpected token", type: "invalid_tool_call" }],
      }),
      true,
    );
    expect(reply.tool_calls!.map((c) => c.id)).toEqual(["ok", "bad"]);
    const errors = malformedCallReplies(reply);
    const { messages } = (await new ToolNode([echo]).invoke({ messages: [reply, ...errors] })) as { messages: ToolMessage[] };
    expect(messages.map((m) => [m.tool_call_id, m.text])).toEqual([["ok", "ran x (1)"]]);
    expect(errors.map((m) => [m.tool_call_id, m.status])).toEqual([["bad", "error"]]);
    expect(runs).toBe(1);
  });
});
