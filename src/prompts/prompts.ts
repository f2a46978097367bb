/** Loads prompt text from `prompts/` (the only place prompt wording lives). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PromptSet } from "../configuration/settings.js";

// Two folders below the root, here (src/prompts/) as in the bundle (dist/cli/).
const PROMPTS_DIR = fileURLToPath(new URL("../../prompts/", import.meta.url));
const cache = new Map<string, string>();
/** A file may open with an HTML comment saying where its text comes from; it never reaches a model. */
const HEADER = /^\s*<!--[\s\S]*?-->\s*\n/;

/** Raw text of `prompts/<name>.md` without its header comment, e.g. `loadPrompt("lamp/lamp-2m")`. */
export function loadPrompt(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(`${PROMPTS_DIR}${name}.md`, "utf8").replace(HEADER, "").trim();
    cache.set(name, text);
  }
  return text;
}

/** Fills the `{placeholders}` of `prompts/<name>.md`; values are inserted verbatim. */
export async function renderPrompt(name: string, values: Record<string, string>): Promise<string> {
  // Imported on first use: commands that only read prompts or personas skip loading it.
  const { PromptTemplate } = await import("@langchain/core/prompts");
  return PromptTemplate.fromTemplate(loadPrompt(name)).format(values);
}

/** The prompts that exist in every prompt set (`prompts/paper/`, `prompts/tuned/`). */
export const SET_PROMPTS = [
  "persona_init",
  "tools/wikipedia_search",
  "tools/memory_retrieval",
  "feedback",
  "update",
] as const;
export type SetPrompt = (typeof SET_PROMPTS)[number];

/** Text of one prompt of a set, e.g. `setPrompt("paper", "tools/wikipedia_search")`. */
export function setPrompt(set: PromptSet, name: SetPrompt): string {
  return loadPrompt(`${set}/${name}`);
}

export async function renderSetPrompt(
  set: PromptSet,
  name: SetPrompt,
  values: Record<string, string>,
): Promise<string> {
  return renderPrompt(`${set}/${name}`, values);
}
