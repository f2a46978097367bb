import { InMemoryStore } from "@langchain/langgraph";
import { HumanMessage } from "@langchain/core/messages";
import {
  historyParts,
  parseProfileTask,
  PROFILE_TASKS,
  SemanticMemory,
  summarizeProfile,
} from "../../src/memory/semantic.js";
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
  test("historyParts holds the whole history, oldest first, in parts within the budget; nothing is cut", () => {
    const entries = Array.from({ length: 10 }, (_, i) => entry(i));
    const [all, ...none] = historyParts(entries);
    expect(none).toEqual([]);
    expect(all!.split("\n- ")).toHaveLength(10);
    expect(all!.indexOf("query 0")).toBeLessThan(all!.indexOf("query 9"));

    const parts = historyParts(entries, 100);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(100);
    expect(parts.join("\n")).toBe(all);

    // An entry longer than a part is split over several, not clipped.
    const long = historyParts([entry(0, "x".repeat(5_000))], 1_000);
    expect(long).toHaveLength(Math.ceil((5_000 + "- Query: \n  Response: response 0".length) / 1_000));
    expect(long.join("")).toBe(`- Query: ${"x".repeat(5_000)}\n  Response: response 0`);
    // Never between the two halves of a character outside the BMP (an emoji).
    const emoji = historyParts([entry(0, "😀".repeat(300))], 100);
    expect(emoji.join("")).toBe(`- Query: ${"😀".repeat(300)}\n  Response: response 0`);
    for (const part of emoji)
      expect(part).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });

  test("an entry's metadata.content (LaMP: the item and the answer, no instruction) is what the summary reads", () => {
    const lamp = {
      ...entry(
        0,
        "Which tag ... tags: [sci-fi, comedy] description: A wormhole.\n\nAnswer with exactly one of these tags",
        "sci-fi",
      ),
      metadata: { content: "description: A wormhole. tag: sci-fi" },
    };
    expect(historyParts([lamp])).toEqual(["- description: A wormhole. tag: sci-fi"]);
  });

  test("a history over the budget is summarized in parts, then the partial profiles are combined", async () => {
    const entries = Array.from({ length: 40 }, (_, i) => entry(i, `film ${i} about topic ${i}`, "sci-fi"));
    const model = new ScriptedChatModel((messages) => {
      const text = messages[0]!.text;
      return text.startsWith("Below are profiles")
        ? "combined profile"
        : `part profile ${(text.match(/film \d+/g) ?? []).length}`;
    });
    expect(await summarizeProfile(model, entries, "lamp-2m", 400)).toBe("combined profile");
    const prompts = model.calls.map((c) => c.messages[0]!.text);
    const parts = prompts.filter((p) => p.includes("movies one user has tagged"));
    expect(parts.length).toBeGreaterThan(2);
    // Every interaction reached exactly one summarization prompt.
    for (let i = 0; i < 40; i++) expect(parts.filter((p) => p.includes(`film ${i} about topic ${i}\n`)).length).toBe(1);
    const combines = prompts.filter((p) => p.startsWith("Below are profiles"));
    expect(combines.length).toBeGreaterThanOrEqual(1);
    expect(combines.at(-1)).toMatch(/Part 1 of \d+:\n/);
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
    await expect(summarizeProfile(new ScriptedChatModel(() => " "), [entry(0)], "general")).rejects.toThrow(
      /empty profile/,
    );
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
