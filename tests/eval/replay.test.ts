/**
 * Issue #10 item 2: `align` on a LaMP-ingested user replays the task's own questions. What the
 * scripted model receives when the alignment graph replays a LaMP-1, 2M, 2N and 3 interaction
 * carries the task's instruction and label set, and the answer-format line, exactly as the test
 * questions are asked (issue #19 item 8).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InMemoryStore } from "@langchain/langgraph";
import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import {
  LAMP_LABELS,
  loadLampQuestions,
  populationPapers,
  profileInteractions,
  type LampProfileItem,
  type LampTask,
} from "../../apps/eval/data/lamp.js";
import { graphAligner } from "../../apps/eval/methods.js";
import { ingestHistory } from "../../src/memory/ingest.js";
import { servicesFor } from "../../src/services/services.js";
import { ScriptedChatModel, type ScriptedCall } from "../../testing/scripted-model.js";
import { lampScript } from "../../testing/lamp-script.js";

const SAMPLES = fileURLToPath(new URL("../fixtures/lamp-samples/", import.meta.url));

async function replayPrompts(
  task: LampTask,
  profile: LampProfileItem[],
  others: { id: string; profile: LampProfileItem[] }[] = [],
) {
  const userId = `replay-${task}`;
  const interactions = await profileInteractions(task, userId, profile, {
    otherPapers: populationPapers(task, others),
  });
  const calls: ScriptedCall[] = [];
  const model = new ScriptedChatModel(lampScript(task), { calls });
  const store = new InMemoryStore();
  const configurable = {
    userId,
    model,
    embeddings: "local:universal-sentence-encoder",
    indexDir: undefined,
    record: false,
  };
  await ingestHistory(servicesFor({ configurable, store }), userId, interactions, { task });
  await graphAligner({ store, configurable, batch: 3, iterations: 1 });
  // Replays are the agent's calls (persona as system prompt) on a stored interaction's question.
  const replays = calls.filter(
    (c) =>
      SystemMessage.isInstance(c.messages[0]) &&
      c.messages.some((m) => HumanMessage.isInstance(m) && interactions.some((i) => i.query === m.text)),
  );
  // Each replay is two calls (a tool call, then the answer): one prompt per replayed interaction.
  return [...new Set(replays.map((c) => c.messages.find((m) => HumanMessage.isInstance(m))!.text))];
}

const labelList = (task: LampTask) => `[${LAMP_LABELS[task]!.join(", ")}]`;

describe("alignment replays on LaMP-ingested users are the task's questions", () => {
  it("LaMP-1 (real records): the citation question with [1]/[2] candidates", async () => {
    const [a, b] = await loadLampQuestions(join(SAMPLES, "LaMP_1_train_questions.json"));
    const prompts = await replayPrompts("lamp-1", a!.profile.slice(0, 6), [{ id: "other", profile: b!.profile }]);
    expect(prompts).toHaveLength(3);
    for (const p of prompts)
      expect(p).toMatch(
        /^For an author who has written the paper with the title ".+", which reference is related\? Just answer with \[1\] or \[2\] without explanation\. \[1\]: ".+" \[2\]: ".+"\n\nAnswer with exactly "\[1\]" or "\[2\]" and nothing else\.$/s,
      );
  }, 60_000);

  it("LaMP-2M: the tagging instruction with the 15 tags", async () => {
    const profile = ["A heist goes wrong.", "Robots rebel.", "Two friends road-trip.", "A detective in 1940s LA."].map(
      (description, i) => ({ id: `m${i}`, description, tag: LAMP_LABELS["lamp-2m"]![i]! }),
    );
    const prompts = await replayPrompts("lamp-2m", profile);
    expect(prompts).toHaveLength(3);
    for (const p of prompts) {
      expect(p).toContain(
        "Which tag does this movie relate to among the following tags? Just answer with the tag name without further explanation.",
      );
      expect(p).toContain(`tags: ${labelList("lamp-2m")} description: `);
    }
  }, 60_000);

  it("LaMP-2N (real records): the categorization instruction with the 15 categories", async () => {
    const questions = await loadLampQuestions(join(SAMPLES, "LaMP_2N_train_questions.json"));
    const prompts = await replayPrompts("lamp-2n", questions[1]!.profile.slice(0, 5));
    expect(prompts).toHaveLength(3);
    const testPrefix = questions[1]!.input.slice(0, questions[1]!.input.indexOf("article: "));
    for (const p of prompts) {
      expect(p.startsWith(testPrefix)).toBe(true); // word for word what the test question says
      expect(p).toContain(`categories: ${labelList("lamp-2n")} article: `);
    }
  }, 60_000);

  it("LaMP-3: the rating instruction with the 1-5 scale", async () => {
    const profile = ["Loved it.", "Broke in a week.", "Fine for the price.", "Superb."].map((text, i) => ({
      id: `r${i}`,
      text,
      score: String((i % 5) + 1),
    }));
    const prompts = await replayPrompts("lamp-3", profile);
    expect(prompts).toHaveLength(3);
    for (const p of prompts)
      expect(p).toMatch(
        /^What is the score of the following review on a scale of 1 to 5\? just answer with 1, 2, 3, 4, or 5 without further explanation\. review: /,
      );
  }, 60_000);
});
