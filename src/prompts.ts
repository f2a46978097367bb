/** Loads prompt text from `prompts/` (the only place prompt wording lives). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PromptTemplate } from "@langchain/core/prompts";

const PROMPTS_DIR = fileURLToPath(new URL("../prompts/", import.meta.url));
const cache = new Map<string, string>();

/** Raw text of `prompts/<name>.md`, e.g. `loadPrompt("tools/wikipedia_search")`. */
export function loadPrompt(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${PROMPTS_DIR}${name}.md`, "utf8").trim();
    cache.set(name, text);
  }
  return text;
}

/** Fills the `{placeholders}` of `prompts/<name>.md`; values are inserted verbatim. */
export async function renderPrompt(name: string, values: Record<string, string>): Promise<string> {
  return PromptTemplate.fromTemplate(loadPrompt(name)).format(values);
}
