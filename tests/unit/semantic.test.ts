import { InMemoryStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import { formatHistory, parseProfileTask, PROFILE_TASKS, SemanticMemory, summarizeProfile } from "../../src/memory/semantic.js";
import type { EpisodicEntry } from "../../src/memory/episodic.js";
import { ScriptedChatModel } from "../../testing/scripted-model.js";

const entry = (i: number, query = `query ${i}`, response = `response ${i}`): EpisodicEntry => ({
  id: `e${i}`,
  seq: i,
  query,
  response,
  timestamp: `2024-01-${String(i + 1).padStart(2, "0")}T00:00:00Z`,
  metadata: {},
});

describe("semantic memory", () => {
  test("formatHistory keeps the most recent entries that fit, oldest first, clipping long texts", () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i));
    const all = formatHistory(entries);
    expect(all.split("\n- ")).toHaveLength(10);
    expect(all.indexOf("query 0")).toBeLessThan(all.indexOf("query 9"));

    const small = formatHistory(entries, 100);
    expect(small).toContain("query 9");
    expect(small).not.toContain("query 0");

    const long = formatHistory([entry(0, "x".repeat(5_000))]);
    expect(long.length).toBeLessThan(1_000);
    expect(long).toContain("…");
  });

  test("summarizeProfile sends the task's prompt with the history and returns the model's text", async () => {
    const model = new ScriptedChatModel(() => "  A careful sci-fi fan.  ");
    const text = await summarizeProfile(model, [entry(0, "wormhole film", "sci-fi")], "lamp-2m");
    expect(text).toBe("A careful sci-fi fan.");
    const prompt = model.calls[0]!.messages[0]!;
    expect(prompt).toBeInstanceOf(HumanMessage);
    expect(prompt.text).toContain("movies one user has tagged");
    expect(prompt.text).toContain("Query: wormhole film\n  Response: sci-fi");
  });

  test("an empty summary is refused", async () => {
    await expect(summarizeProfile(new ScriptedChatModel(() => " "), [entry(0)], "general")).rejects.toThrow(/empty profile/);
  });

  test("every task has its own prompt file, unknown tasks are user errors", async () => {
    for (const task of PROFILE_TASKS) {
      const model = new ScriptedChatModel(() => "ok");
      await summarizeProfile(model, [entry(0)], task);
      expect(model.calls[0]!.messages[0]!.text).toContain("query 0");
    }
    expect(() => parseProfileTask("lamp-9")).toThrow('unknown task "lamp-9"');
  });

  test("profiles are stored per user", async () => {
    const semantic = new SemanticMemory(new InMemoryStore());
    const profile = { text: "likes sci-fi", task: "general" as const, basedOn: 3, createdAt: "2024-01-01T00:00:00Z" };
    await semantic.put("alice", profile);
    expect(await semantic.get("alice")).toEqual(profile);
    expect(await semantic.get("bob")).toBeUndefined();
  });
});
