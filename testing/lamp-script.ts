/**
 * A scripted "LLM" for LaMP runs: it answers with the label its context supports most
 * (examples, retrieved memories, profile, persona), calls the memory tool once when it has
 * tools, and writes profiles and aligned personas. Deterministic, so a run's metrics are too.
 */
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { LAMP_LABELS, type LampTask } from "../apps/eval/data/lamp.js";
import { MEMORY_TOOL } from "../src/tools/index.js";
import type { Script } from "./scripted-model.js";
import { parseAlignmentPrompt } from "./alignment-prompts.js";

// OPPU's profile records ("description: ... tag: comedy") are what profile prompts list (apps/eval/data/lamp.ts).
const EVIDENCE = [
  /answer here is "([^"]+)"/g,
  /is "([^"]+)"/g,
  /User's response: ([^\n]+)/g,
  /Response: ([^\n]+)/g,
  /mostly answers "([^"]+)"/g,
  /^(\d) is the score/gm,
  / (?:tag|category|score): ([^\n]+)$/gm,
];

export function majority(texts: string[], labels: readonly string[]): string | undefined {
  const votes = new Map<string, number>();
  for (const text of texts) {
    for (const pattern of EVIDENCE) {
      for (const m of text.matchAll(pattern)) {
        const label = m[1]!.trim();
        if (labels.includes(label)) votes.set(label, (votes.get(label) ?? 0) + 1);
      }
    }
  }
  return [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export function lampScript(task: LampTask): Script {
  const labels = LAMP_LABELS[task]!;
  return (messages: BaseMessage[], { tools }) => {
    const human = messages.findLast((m) => HumanMessage.isInstance(m))?.text ?? "";
    if (/^Below are /.test(human)) return `The user mostly answers "${majority([human], labels) ?? labels[0]}".`;
    // The alignment graph's LLM_grad and LLM_update prompts (prompts/<set>/feedback.md, update.md).
    const step = parseAlignmentPrompt(human);
    if (step?.step === "grad") return `This user's true answer here is "${step.values.truth!.trim()}".`;
    if (step?.step === "update") {
      const { persona, feedback } = step.values;
      return `${persona!.trim()}\nAfter alignment: this user mostly answers "${majority([feedback!], labels) ?? labels[0]}".`;
    }
    const afterHuman = messages.slice(messages.findLastIndex((m) => HumanMessage.isInstance(m)) + 1);
    if (tools.includes(MEMORY_TOOL) && !afterHuman.some((m) => ToolMessage.isInstance(m))) {
      return new AIMessage({
        content: "",
        tool_calls: [{ name: MEMORY_TOOL, args: { query: human.slice(-200) }, id: `call_${human.length}` }],
      });
    }
    // The question's own label list is unquoted, so only context (examples, memories, persona) votes.
    const answer = majority(
      messages.map((m) => m.text),
      labels,
    );
    if (answer) return answer;
    return task === "lamp-3" ? "3" : task === "lamp-1" ? "[2]" : "I cannot tell.";
  };
}
