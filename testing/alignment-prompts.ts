/**
 * Recognizes LLM_grad and LLM_update requests of either prompt set and reads back the values
 * filled into them, by matching the request text against the prompt files themselves (so the
 * scripts follow any change to the prompt wording).
 */
import { setPrompt, type SetPrompt } from "../src/prompts/prompts.js";
import { PROMPT_SETS, type PromptSet } from "../src/configuration/settings.js";

export type AlignmentStep = "grad" | "update";

export interface AlignmentPrompt {
  step: AlignmentStep;
  set: PromptSet;
  /** The placeholder values, e.g. question/truth/response for LLM_grad, persona/feedback for LLM_update. */
  values: Record<string, string>;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const MATCHERS = PROMPT_SETS.flatMap((set) =>
  (Object.entries({ grad: "feedback", update: "update" }) as [AlignmentStep, SetPrompt][]).map(([step, name]) => {
    const names: string[] = [];
    const parts = setPrompt(set, name).split(/\{(\w+)\}/);
    const source = parts.map((part, i) => (i % 2 === 1 ? (names.push(part), "([\\s\\S]*?)") : escape(part))).join("");
    return { step, set, names, regex: new RegExp(`^${source}$`) };
  }),
);

/** Which alignment step (and prompt set) `text` is a prompt of, with its filled values; undefined for anything else. */
export function parseAlignmentPrompt(text: string): AlignmentPrompt | undefined {
  for (const { step, set, names, regex } of MATCHERS) {
    const match = regex.exec(text);
    if (match) return { step, set, values: Object.fromEntries(names.map((name, i) => [name, match[i + 1]!])) };
  }
  return undefined;
}
