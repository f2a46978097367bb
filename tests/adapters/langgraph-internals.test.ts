/**
 * The library internals this project relies on, each behind one adapter in src/adapters/ (or
 * the tool-call repair module). These tests fail when a LangGraph upgrade changes one of them.
 */
import { Annotation, InMemoryStore, START, StateGraph, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { unwrapStore } from "../../src/adapters/batched-store.js";
import { externalAbortSignal } from "../../src/adapters/pregel-abort-signal.js";
import { malformedCallReplies, repairReply } from "../../src/agent/tool-call-repair.js";

const State = Annotation.Root({ seen: Annotation<unknown>() });

/** Runs one node with `probe` and returns what it saw. */
async function insideNode(probe: (config: LangGraphRunnableConfig) => unknown, options: { store?: InMemoryStore; signal?: AbortSignal } = {}): Promise<unknown> {
  const graph = new StateGraph(State)
    .addNode("probe", (_state, config) => ({ seen: probe(config) }))
    .addEdge(START, "probe")
    .compile({ store: options.store });
  return (await graph.invoke({}, { signal: options.signal })).seen;
}

describe("LangGraph internals behind adapters", () => {
  test("a node's store is an AsyncBatchedStore around the real one, and unwrapStore finds the real one", async () => {
    const store = new InMemoryStore();
    const seen = await insideNode((config) => [config.store !== store, unwrapStore(config.store!) === store], { store });
    expect(seen).toEqual([true, true]);
  });

  test("a run's external abort signal reaches nodes under configurable.__pregel_abort_signals", async () => {
    const controller = new AbortController();
    const seen = await insideNode((config) => externalAbortSignal(config), { signal: controller.signal });
    expect(seen).toBeInstanceOf(AbortSignal);
    // LangGraph may combine signals; aborting the caller's must abort the one the adapter found.
    const found = seen as AbortSignal;
    controller.abort();
    expect(found.aborted).toBe(true);
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
