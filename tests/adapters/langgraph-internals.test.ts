/**
 * The library internals this project relies on, each behind one adapter in src/adapters/ (or
 * the tool-call repair module), and LangGraph behaviour it works around. These tests fail when
 * a LangGraph upgrade changes one of them.
 */
import { Annotation, InMemoryStore, Send, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { unwrapStore } from "../../src/adapters/batched-store.js";
import { malformedCallReplies, repairReply } from "../../src/agent/tool-call-repair.js";

const State = Annotation.Root({ seen: Annotation<unknown>() });

/** Runs one node with `probe` and returns what it saw. */
async function insideNode(
  probe: (config: LangGraphRunnableConfig) => unknown,
  options: { store?: InMemoryStore; configurable?: Record<string, unknown> } = {},
): Promise<unknown> {
  const graph = new StateGraph(State)
    .addNode("probe", (_state, config) => ({ seen: probe(config) }))
    .addEdge(START, "probe")
    .compile({ store: options.store });
  return (await graph.invoke({}, { configurable: options.configurable })).seen;
}

describe("LangGraph internals behind adapters", () => {
  test("a node's store is an AsyncBatchedStore around the real one, and unwrapStore finds the real one", async () => {
    const store = new InMemoryStore();
    const seen = await insideNode((config) => [config.store !== store, unwrapStore(config.store!) === store], {
      store,
    });
    expect(seen).toEqual([true, true]);
  });

  test("tasks of one superstep share one abort signal (langgraphjs#1494), so graphs/alignment.ts raises the default listener limit", async () => {
    const signals: AbortSignal[] = [];
    const Fan = Annotation.Root({ n: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }) });
    const graph = new StateGraph(Fan)
      .addNode("fan", () => ({}))
      .addNode("work", (_input: { i: number }, config: LangGraphRunnableConfig) => {
        signals.push(config.signal!);
        return { n: 1 };
      })
      .addEdge(START, "fan")
      .addConditionalEdges("fan", () => Array.from({ length: 12 }, (_, i) => new Send("work", { i })), ["work"])
      .compile();
    expect((await graph.invoke({})).n).toBe(12);
    // When LangGraph gives each task its own signal, this fails: the raise in graphs/alignment.ts can go.
    expect(new Set(signals).size).toBe(1);
  });

  test("ToolNode skips tool calls that already have a ToolMessage reply, so malformed calls are answered once", async () => {
    let runs = 0;
    const echo = tool(async ({ query }) => `ran ${query} (${++runs})`, {
      name: "echo",
      description: "echo",
      schema: z.object({ query: z.string() }),
    });
    const reply = repairReply(
      new AIMessage({
        content: "",
        tool_calls: [{ id: "ok", name: "echo", args: { query: "x" }, type: "tool_call" }],
        invalid_tool_calls: [
          { id: "bad", name: "echo", args: "{query:", error: "Error: Unexpected token", type: "invalid_tool_call" },
        ],
      }),
      true,
    );
    expect(reply.tool_calls!.map((c) => c.id)).toEqual(["ok", "bad"]);
    const errors = malformedCallReplies(reply);
    const { messages } = (await new ToolNode([echo]).invoke({ messages: [reply, ...errors] })) as {
      messages: ToolMessage[];
    };
    expect(messages.map((m) => [m.tool_call_id, m.text])).toEqual([["ok", "ran x (1)"]]);
    expect(errors.map((m) => [m.tool_call_id, m.status])).toEqual([["bad", "error"]]);
    expect(runs).toBe(1);
  });
});
