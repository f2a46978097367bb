/**
 * What an evaluation's model calls cost: list prices per million input and output tokens, in US
 * dollars, by `provider:name`. `local:` models cost nothing; a model not in the table has an
 * unknown cost (never 0). The user overrides or extends the table with a JSON file named by
 * PERSONA_AGENT_PRICES: `{"openai:my-model": {"input": 0.5, "output": 1.5}}`.
 */
import { readFileSync } from "node:fs";
import { fileReadError, UserError } from "../../src/errors/errors.js";
import { pricesFile } from "../../src/configuration/settings.js";

/** US dollars per million tokens. */
export interface Price {
  input: number;
  output: number;
}

export type PriceTable = Record<string, Price>;

/** List prices (on-demand, checked 2025-06); providers change them: override with PERSONA_AGENT_PRICES. */
export const LIST_PRICES: PriceTable = {
  // Amazon Bedrock (on-demand, us-east-1)
  "bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0": { input: 3, output: 15 },
  "bedrock:anthropic.claude-3-5-sonnet-20241022-v2:0": { input: 3, output: 15 },
  "bedrock:anthropic.claude-3-7-sonnet-20250219-v1:0": { input: 3, output: 15 },
  "bedrock:anthropic.claude-3-5-haiku-20241022-v1:0": { input: 0.8, output: 4 },
  "bedrock:anthropic.claude-3-haiku-20240307-v1:0": { input: 0.25, output: 1.25 },
  "bedrock:mistral.mistral-large-2402-v1:0": { input: 4, output: 12 },
  "bedrock:mistral.mistral-small-2402-v1:0": { input: 1, output: 3 },
  // OpenAI
  "openai:gpt-4o": { input: 2.5, output: 10 },
  "openai:gpt-4o-2024-08-06": { input: 2.5, output: 10 },
  "openai:gpt-4o-2024-11-20": { input: 2.5, output: 10 },
  "openai:gpt-4o-mini": { input: 0.15, output: 0.6 },
  "openai:gpt-4o-mini-2024-07-18": { input: 0.15, output: 0.6 },
  "openai:gpt-4.1": { input: 2, output: 8 },
  "openai:gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "openai:gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "openai:gpt-4-turbo": { input: 10, output: 30 },
  "openai:gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "openai:o1": { input: 15, output: 60 },
  "openai:o3-mini": { input: 1.1, output: 4.4 },
  "openai:o4-mini": { input: 1.1, output: 4.4 },
};

/** Bedrock's cross-region inference profiles (`us.anthropic...`) cost what the model does. */
const REGION_PROFILE = /^bedrock:(?:us|eu|apac|us-gov)\./;

export function priceOf(model: string, table: PriceTable): Price | undefined {
  if (model.startsWith("local:")) return { input: 0, output: 0 };
  return table[model] ?? table[model.replace(REGION_PROFILE, "bedrock:")];
}

/** Dollars for these tokens, or undefined when the model's price is unknown. */
export function costOf(
  model: string,
  tokens: { inputTokens: number; outputTokens: number },
  table: PriceTable,
): number | undefined {
  const price = priceOf(model, table);
  return price && (tokens.inputTokens * price.input + tokens.outputTokens * price.output) / 1e6;
}

/** The list prices, overridden and extended by the JSON file PERSONA_AGENT_PRICES names, if any. */
export function priceTable(file = pricesFile()): PriceTable {
  if (!file) return LIST_PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserError(`PERSONA_AGENT_PRICES=${file}: not JSON (${error.message})`);
    throw fileReadError(file, error);
  }
  const entries =
    parsed !== null && typeof parsed === "object" && !Array.isArray(parsed) ? Object.entries(parsed) : undefined;
  const isPrice = (p: unknown): p is Price => {
    const { input, output } = (p ?? {}) as Partial<Price>;
    return [input, output].every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0);
  };
  const bad = entries?.find(([, p]) => !isPrice(p));
  if (!entries || bad) {
    throw new UserError(
      `PERSONA_AGENT_PRICES=${file}: ${bad ? `the price of "${bad[0]}"` : "the file"} must be {"provider:model": {"input": dollars per million tokens, "output": ...}}`,
    );
  }
  return { ...LIST_PRICES, ...Object.fromEntries(entries) };
}

/** `$1.23`, `$0.0042`, or "cost unknown" (a model without a price). */
export function formatCost(cost: number | undefined | null): string {
  if (cost === undefined || cost === null) return "cost unknown";
  return `$${cost >= 1 ? cost.toFixed(2) : cost.toFixed(4)}`;
}
