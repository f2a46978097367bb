/**
 * Prints the line diff between the `paper` and `tuned` prompt sets (the text the model sees,
 * headers stripped), the Markdown docs/PROMPTS.md embeds (a test checks it is current):
 *   npx tsx scripts/prompt-diff.ts
 */
import { pathToFileURL } from "node:url";
import { lineDiff } from "../src/persona/persona.js";
import { SET_PROMPTS, setPrompt } from "../src/prompts/prompts.js";
import type { PromptSet } from "../src/configuration/settings.js";

/** Per prompt, the lines of set `a` that set `b` removes (-) and adds (+). */
export function promptSetDiff(a: PromptSet, b: PromptSet): string {
  return SET_PROMPTS.map(
    (name) =>
      `#### \`${name}\`\n\n\`\`\`diff\n${lineDiff(setPrompt(a, name), setPrompt(b, name)).join("\n")}\n\`\`\`\n`,
  ).join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href)
  process.stdout.write(promptSetDiff("paper", "tuned"));
