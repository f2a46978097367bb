/**
 * The graph of the design card: persona_agent with the user's true response records it as
 * feedback and, when alignment is due, runs the alignment subgraph, which replays through the
 * agent steps and saves a new persona version. Studio's view of persona_agent (xray) shows it.
 */
import { MemorySaver } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { builder, graph } from "../../graphs/persona_agent.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { FeedbackLog } from "../../src/alignment/feedback-log.js";
import { episodicMemoryFor } from "../../src/services/services.js";
import { aliceConfigurable, aliceStore, EMB, roleOf, scriptedModel } from "../../testing/alignment-harness.js";
import { ScriptedChatModel } from "../../testing/scripted-model.js";
import { AIMessage, ToolMessage } from "@langchain/core/messages";
import { forgetUser } from "../../src/users/forget.js";
import { UserForgottenError } from "../../src/store/lifecycle.js";

const QUERY = "Tag this movie: two strangers fall in love on a night train";
const TRUTH = "romance";

const configurable = aliceConfigurable;

describe("persona_agent with the user's true response", () => {
  test("records the feedback and, when alignment is due, the alignment subgraph saves a new persona version", async () => {
    const store = await aliceStore();
    const model = scriptedModel({ agent: () => "sci-fi", update: () => "ALIGNED BY FEEDBACK" });
    const personas = new PersonaStore(store);
    const before = (await personas.current("alice"))!;

    const out = await builder
      .compile({ store })
      .invoke(
        { messages: [new HumanMessage(QUERY)], truth: TRUTH },
        { configurable: configurable(model, { alignEvery: 1, batchSize: 2 }) },
      );

    const after = (await personas.current("alice"))!;
    expect(after).toMatchObject({ version: before.version + 1, persona: "ALIGNED BY FEEDBACK", origin: "aligned" });
    expect(out.answer).toBe("sci-fi");
    expect(out.personaVersion).toBe(before.version); // the answer used the persona current when asked
    expect(out.sinceAlignment).toBe(1);
    expect(out.alignment).toMatchObject({ user: "alice", fromVersion: before.version, toVersion: after.version });
    // The batch is the latest interactions, so the feedback just given is replayed and graded.
    expect(out.alignment!.iterations[0]!.feedback.map((f) => [f.query, f.expected])).toContainEqual([QUERY, TRUTH]);
    const replays = model.calls.filter((c) => roleOf(c.messages) === "agent" && c.messages[0]!.text === before.persona);
    expect(replays.length).toBeGreaterThan(2); // the turn itself plus the replays, each through agent <-> tools
    expect(model.calls.filter((c) => roleOf(c.messages) === "update")).toHaveLength(1);
    // The true response joined memory; the alignment saw every feedback.
    const memory = episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 });
    expect((await memory.list("alice")).at(-1)).toMatchObject({ query: QUERY, response: TRUTH });
    expect(await new FeedbackLog(store).sinceAlignment("alice")).toBe(0);
    // The caller gets what it asked for, not the graph's insides.
    expect(Object.keys(out).sort()).toEqual([
      "alignment",
      "answer",
      "messages",
      "personaVersion",
      "retrieved",
      "sinceAlignment",
      "toolCalls",
    ]);
  });

  test("before alignment is due it only records the feedback; the next turn of the thread is no feedback", async () => {
    const store = await aliceStore();
    const model = scriptedModel({ agent: () => "sci-fi" });
    const agent = builder.compile({ store, checkpointer: new MemorySaver() });
    const config = { configurable: { ...configurable(model, { alignEvery: 3 }), thread_id: "t1" } };

    const first = await agent.invoke({ messages: [new HumanMessage(QUERY)], truth: TRUTH }, config);
    expect(first).toMatchObject({ sinceAlignment: 1, alignment: null });
    const second = await agent.invoke({ messages: [new HumanMessage("Tag this movie: a heist on Mars")] }, config);
    expect(second).toMatchObject({ sinceAlignment: null, alignment: null });
    expect(await new FeedbackLog(store).sinceAlignment("alice")).toBe(1);
    expect(model.calls.some((c) => roleOf(c.messages) !== "agent")).toBe(false);
    expect((await new PersonaStore(store).history("alice")).map((v) => v.version)).toEqual([1]);
  });

  test("the served graph has steps for the largest alignment a feedback may trigger (the subgraph runs under its parent's limit)", async () => {
    const store = await aliceStore();
    const input = { messages: [new HumanMessage(QUERY)], truth: TRUTH };
    const config = {
      configurable: configurable(scriptedModel({ agent: () => "sci-fi" }), {
        alignEvery: 1,
        batchSize: 2,
        iterations: 6,
      }),
      store,
    };
    await expect(builder.compile().invoke(input, config)).rejects.toThrow(/Recursion limit of 25/); // LangGraph's default stops E = 6
    const out = await graph.invoke(input, config);
    expect(out.alignment!.iterations).toHaveLength(6);
  });

  test("a forget after the turn started wins: the true response is not stored", async () => {
    const store = await aliceStore();
    const memory = episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 });
    // The user is forgotten while the agent answers; record is off, so the feedback step is the first write.
    const forgetting = new ScriptedChatModel(async (messages) => {
      if (!messages.some((m) => ToolMessage.isInstance(m)))
        return new AIMessage({
          content: "",
          tool_calls: [{ id: "mem", name: "memory_retrieval", args: { query: QUERY } }],
        });
      await forgetUser(store, memory, "alice");
      return "sci-fi";
    });
    const run = builder
      .compile({ store })
      .invoke(
        { messages: [new HumanMessage(QUERY)], truth: TRUTH },
        { configurable: configurable(forgetting, { alignEvery: 1, record: false }) },
      );
    await expect(run).rejects.toThrow(new UserForgottenError("alice"));
    expect(await memory.list("alice")).toEqual([]);
    expect(await new FeedbackLog(store).total("alice")).toBe(0);
  });

  test("a bad true response or alignment setting is refused before any model call, storing nothing", async () => {
    const store = await aliceStore();
    const model = scriptedModel({});
    const memory = episodicMemoryFor(store, { embeddings: EMB, indexDir: undefined, timeoutMs: 60_000, maxRetries: 0 });
    const stored = (await memory.list("alice")).length;
    const agent = builder.compile({ store });
    await expect(
      agent.invoke({ messages: [new HumanMessage(QUERY)], truth: "   " }, { configurable: configurable(model) }),
    ).rejects.toThrow("the true response (truth) is empty");
    await expect(
      agent.invoke({ messages: [new HumanMessage(QUERY)], truth: "a\u0000b" }, { configurable: configurable(model) }),
    ).rejects.toThrow(/the true response \(truth\) contains a NUL/);
    await expect(
      agent.invoke(
        { messages: [new HumanMessage(QUERY)], truth: TRUTH },
        { configurable: configurable(model, { alignEvery: 0 }) },
      ),
    ).rejects.toThrow("alignEvery must be an integer >= 1, got 0");
    // an API caller's per-run numbers are held to RUN_LIMITS too
    await expect(
      agent.invoke({ messages: [new HumanMessage(QUERY)] }, { configurable: configurable(model, { k: 100_000 }) }),
    ).rejects.toThrow('k must be an integer from 1 to 64, got "100000"');
    await expect(
      agent.invoke(
        { messages: [new HumanMessage(QUERY)] },
        { configurable: configurable(model, { maxToolSteps: "9" }) },
      ),
    ).rejects.toThrow('maxToolSteps must be a number, got "9"');
    await expect(
      agent.invoke(
        { messages: [new HumanMessage(QUERY)] },
        { configurable: configurable(model, { memoryTool: "false" }) },
      ),
    ).rejects.toThrow('memoryTool must be true or false, got "false"');
    await expect(
      agent.invoke({ messages: [new HumanMessage(QUERY)] }, { configurable: configurable(model, { timeoutMs: 1e9 }) }),
    ).rejects.toThrow("timeoutMs must be an integer from 1 to 600000");
    expect(model.calls).toHaveLength(0);
    expect((await memory.list("alice")).length).toBe(stored);
    expect(await new FeedbackLog(store).total("alice")).toBe(0);
  });

  test("Studio's graph of persona_agent shows the agent steps subgraph and, expanded (xray), both subgraphs with one name per step", async () => {
    const drawn = await graph.getGraphAsync();
    expect(Object.keys(drawn.nodes)).toEqual(
      expect.arrayContaining(["load_persona", "agent_steps", "record", "record_truth", "align"]),
    );
    const expanded = await graph.getGraphAsync({ xray: true });
    const ids = Object.keys(expanded.nodes);
    for (const step of ["agent", "tools"]) expect(ids).toContain(`agent_steps:${step}`);
    for (const step of [
      "load_persona",
      "select_batch",
      "simulate",
      "gradient",
      "update",
      "validate",
      "close_iteration",
      "save_persona",
    ])
      expect(ids).toContain(`align:${step}`);
    expect(ids.filter((id) => /feedback|checkpoint/.test(id))).toEqual([]);
    expect(expanded.edges.filter((e) => e.source === "record_truth").map((e) => e.target)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^align:/), "__end__"]),
    );
    // The map-reduce is drawn: the batch fans out to simulate, each simulation to its own LLM_grad.
    const edge = (source: string, target: string) =>
      expanded.edges.some((e) => e.source === `align:${source}` && e.target === `align:${target}`);
    expect([
      edge("select_batch", "simulate"),
      edge("simulate", "gradient"),
      edge("gradient", "update"),
      edge("close_iteration", "save_persona"),
    ]).toEqual([true, true, true, true]);
  });
});
