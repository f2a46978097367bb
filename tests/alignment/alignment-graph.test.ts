import { InMemoryStore } from "@langchain/langgraph";
import { ToolMessage } from "@langchain/core/messages";
import { PersonaStore } from "../../src/persona/persona.js";
import { UserError } from "../../src/errors.js";
import { ALICE_HISTORY } from "../support/fixtures.js";
import { align, aliceStore, roleOf, scriptedModel, section } from "./harness.js";

const calls = (model: ReturnType<typeof scriptedModel>, role: string) => model.calls.filter((c) => roleOf(c.messages) === role);

describe("alignment graph", () => {
  test("batch 3: 3 simulations without leakage, 3 concurrent LLM_grad calls, 1 LLM_update with all feedback, +1 version", async () => {
    const store = await aliceStore();
    const personas = new PersonaStore(store);
    const before = (await personas.current("alice"))!;
    const model = scriptedModel({ update: () => "ALIGNED PERSONA 1" }, 100);

    const result = await align(store, model, { batchSize: 3 });

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
    const grads = calls(model, "grad");
    expect(grads).toHaveLength(3);
    expect(grads.map((g) => section(g.messages, "question")).sort()).toEqual(latest3.map((e) => e.query).sort());
    for (const g of grads) {
      const entry = latest3.find((e) => e.query === section(g.messages, "question"))!;
      expect(section(g.messages, "expected_answer")).toBe(entry.response);
      expect(section(g.messages, "simulated_answer")).toBe("simulated");
      expect(section(g.messages, "persona")).toBe(before.persona);
    }
    const lastStart = Math.max(...grads.map((g) => g.startedAt));
    const firstEnd = Math.min(...grads.map((g) => g.endedAt!));
    expect(lastStart).toBeLessThan(firstEnd); // every call started before any finished (each takes 100 ms)

    // LLM_update: exactly one, seeing the current persona and all three feedbacks.
    const updates = calls(model, "update");
    expect(updates).toHaveLength(1);
    expect(section(updates[0]!.messages, "persona")).toBe(before.persona);
    for (const e of latest3) expect(section(updates[0]!.messages, "feedback")).toContain(`FEEDBACK for ${e.query}`);
    expect(updates[0]!.startedAt).toBeGreaterThanOrEqual(Math.max(...grads.map((g) => g.endedAt!)));

    // Checkpoint: the update's output is the new current version, with the feedback that produced it.
    const after = (await personas.current("alice"))!;
    expect(after).toMatchObject({ version: before.version + 1, persona: "ALIGNED PERSONA 1", origin: "aligned" });
    expect(after.details).toMatchObject({ basedOn: before.version, iteration: 1 });
    expect((after.details!.feedback as { feedback: string }[]).map((f) => f.feedback).sort()).toEqual(latest3.map((e) => `FEEDBACK for ${e.query}`).sort());
    expect(result).toMatchObject({ fromVersion: 1, version: 2, persona: "ALIGNED PERSONA 1" });
    expect(result.iterations).toHaveLength(1);
    expect(result.iterations[0]!.feedback.map((f) => f.query)).toEqual(latest3.map((e) => e.query)); // batch order
  });

  test("E=2: two versions, the second iteration simulates with the first iteration's persona", async () => {
    const store = await aliceStore();
    let n = 0;
    const model = scriptedModel({ update: () => `ALIGNED PERSONA ${++n}` });
    const result = await align(store, model, { batchSize: 2, iterations: 2 });

    const history = await new PersonaStore(store).history("alice");
    expect(history.map((v) => [v.version, v.persona])).toEqual([
      [1, expect.any(String)],
      [2, "ALIGNED PERSONA 1"],
      [3, "ALIGNED PERSONA 2"],
    ]);
    expect(result.iterations.map((i) => i.version)).toEqual([2, 3]);
    expect(calls(model, "grad")).toHaveLength(4);
    expect(calls(model, "update")).toHaveLength(2);
    const personasSeen = calls(model, "agent").map((c) => c.messages[0]!.text);
    expect(personasSeen.slice(-4)).toEqual(Array(4).fill("ALIGNED PERSONA 1"));
    // the second update refines the first iteration's persona
    expect(section(calls(model, "update")[1]!.messages, "persona")).toBe("ALIGNED PERSONA 1");
  });

  test("a failing LLM_grad call fails the run clearly and saves nothing", async () => {
    const store = await aliceStore();
    const model = scriptedModel({
      grad: (m) => {
        if (section(m, "question") === ALICE_HISTORY[2]!.query) throw new Error("model overloaded");
        return "fine";
      },
    });
    const run = align(store, model, { batchSize: 3 });
    await expect(run).rejects.toThrow(UserError);
    await expect(run).rejects.toThrow(/^alignment failed: feedback \(LLM_grad\) on interaction [0-9a-f]+: model overloaded; the persona stays at v1$/);
    expect(calls(model, "update")).toHaveLength(0);
    const history = await new PersonaStore(store).history("alice");
    expect(history.map((v) => v.version)).toEqual([1]);
  });

  test.each([
    ["empty", ""],
    ["whitespace", "  \n "],
  ])("an LLM_update that returns %s text fails the run and saves nothing", async (_name, reply) => {
    const store = await aliceStore();
    const before = (await new PersonaStore(store).current("alice"))!;
    await expect(align(store, scriptedModel({ update: () => reply }))).rejects.toThrow(
      new UserError("alignment failed: persona update (LLM_update) returned empty text; the persona stays at v1"),
    );
    expect(await new PersonaStore(store).current("alice")).toEqual(before);
    expect(await new PersonaStore(store).history("alice")).toHaveLength(1);
  });

  test("unknown user and nothing to align on are user errors", async () => {
    const store = new InMemoryStore();
    await expect(align(store, scriptedModel({}))).rejects.toThrow('unknown user "alice": no persona yet');
  });
});
