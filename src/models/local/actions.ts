/**
 * Tool calling for small local models by grammar-constrained decoding: the model may only
 * emit `{"tool": <a bound tool>, "arguments": <that tool's args>}` or `{"answer": string}`,
 * so it cannot produce a malformed call. The grammar is node-llama-cpp's JSON-schema subset
 * (oneOf, const, enum, objects whose keys are all required, arrays, strings with lengths);
 * arguments are validated with the tool's own schema afterwards for what it cannot express.
 */
import type { BindToolsInput } from "@langchain/core/language_models/chat_models";
import { convertToOpenAITool } from "@langchain/core/utils/function_calling";
import { interopSafeParse, isInteropZodSchema } from "@langchain/core/utils/types";
import type { GbnfJsonSchema } from "node-llama-cpp";
import { renderPrompt } from "../../prompts/prompts.js";

export interface ToolSpec {
  name: string;
  description: string;
  /** The tool's arguments as JSON schema (what the model is shown). */
  parameters: Record<string, unknown>;
  /** The tool's zod schema, when it has one. */
  zod?: unknown;
}

export interface GrammarLimits {
  /** Longest string a tool argument may be: tools want keywords, and it bounds generation. */
  maxArgChars: number;
  maxAnswerChars: number;
}

export type Action =
  | { kind: "tool"; name: string; args: Record<string, unknown> }
  | { kind: "answer"; text: string }
  | { kind: "invalid"; name?: string; raw: string; error: string };

/** Arrays of unbounded length would let a looping model run to maxTokens. */
const MAX_ITEMS = 16;
/** Anything a schema leaves open (`{}`): a scalar keeps the grammar finite. */
const ANY_SCALAR: GbnfJsonSchema = { type: ["string", "number", "boolean", "null"] };
const STRING_FORMATS = new Set(["date-time", "date", "time"]);

export function toolSpecs(tools: BindToolsInput[]): ToolSpec[] {
  return tools.map((tool) => {
    const { name, description, parameters } = convertToOpenAITool(tool as never).function;
    const schema = (tool as { schema?: unknown }).schema;
    return {
      name,
      description: description ?? "",
      parameters: (parameters ?? {}) as Record<string, unknown>,
      zod: isInteropZodSchema(schema) ? schema : undefined,
    };
  });
}

/** JSON schema (as LangChain derives it from zod) -> the subset node-llama-cpp's grammar takes. */
export function toGbnfSchema(schema: unknown, maxChars: number): GbnfJsonSchema {
  if (schema === null || typeof schema !== "object") return ANY_SCALAR;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON schema of any shape, read key by key
  const s = schema as Record<string, any>;
  if ("const" in s) return { const: s.const };
  if (Array.isArray(s.enum)) return { enum: s.enum };
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) return { oneOf: alternatives.map((a: unknown) => toGbnfSchema(a, maxChars)) };
  if (Array.isArray(s.type)) return { oneOf: s.type.map((type: string) => toGbnfSchema({ ...s, type }, maxChars)) };
  switch (s.type) {
    case "object": {
      const properties = Object.fromEntries(
        Object.entries(s.properties ?? {}).map(([key, value]) => [key, toGbnfSchema(value, maxChars)]),
      );
      return { type: "object", properties };
    }
    case "array":
      return {
        type: "array",
        items: toGbnfSchema(s.items, maxChars),
        minItems: Math.min(s.minItems ?? 0, MAX_ITEMS),
        maxItems: Math.min(s.maxItems ?? MAX_ITEMS, MAX_ITEMS),
      };
    case "string": {
      if (STRING_FORMATS.has(s.format)) return { type: "string", format: s.format };
      const maxLength = Math.min(s.maxLength ?? maxChars, maxChars);
      return { type: "string", maxLength, ...(s.minLength ? { minLength: Math.min(s.minLength, maxLength) } : {}) };
    }
    case "number":
    case "integer":
    case "boolean":
    case "null":
      return { type: s.type };
    default:
      return ANY_SCALAR;
  }
}

/** One branch per bound tool, plus the final answer unless a tool call is forced. */
export function actionSchema(tools: ToolSpec[], limits: GrammarLimits, allowAnswer: boolean): GbnfJsonSchema {
  const branches: GbnfJsonSchema[] = tools.map((t) => ({
    type: "object",
    properties: { tool: { const: t.name }, arguments: toGbnfSchema(t.parameters, limits.maxArgChars) },
  }));
  if (allowAnswer)
    branches.push({ type: "object", properties: { answer: { type: "string", maxLength: limits.maxAnswerChars } } });
  return branches.length === 1 ? branches[0]! : { oneOf: branches };
}

/** The instructions appended to the system prompt (wording in prompts/local/tool_calling.md). */
export function toolInstructions(tools: ToolSpec[], allowAnswer: boolean): Promise<string> {
  const list = tools
    .map((t) => `- ${t.name}: ${t.description}\n  arguments (JSON schema): ${JSON.stringify(t.parameters)}`)
    .join("\n");
  const formats = [`{"tool": "<tool name>", "arguments": {...}} to call a tool`];
  if (allowAnswer) formats.push(`{"answer": "<your reply to the user>"} to reply without a tool`);
  return renderPrompt("local/tool_calling", { tools: list, formats: formats.join("\n") });
}

/**
 * The grammar guarantees the shape; this validates arguments against the tool's own schema
 * and turns output cut short by maxTokens into an `invalid` action instead of a crash.
 */
export function parseAction(raw: string, tools: ToolSpec[]): Action {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    const partial = /^\s*\{\s*"answer"\s*:\s*"((?:[^"\\]|\\.)*)/s.exec(raw);
    if (partial) return { kind: "answer", text: unescapeJsonString(partial[1]!) };
    const name = /"tool"\s*:\s*"([^"]*)"/.exec(raw)?.[1];
    return {
      kind: "invalid",
      name,
      raw,
      error: "the model's output ended before the JSON was complete (raise maxTokens)",
    };
  }
  if (typeof value.answer === "string") return { kind: "answer", text: value.answer };
  const tool = tools.find((t) => t.name === value.tool);
  if (!tool) return { kind: "invalid", raw, error: `unknown tool ${JSON.stringify(value.tool)}` };
  const args = (value.arguments ?? {}) as Record<string, unknown>;
  if (tool.zod) {
    const parsed = interopSafeParse(tool.zod as never, args);
    if (!parsed.success)
      return {
        kind: "invalid",
        name: tool.name,
        raw,
        error: `arguments do not match the tool's schema: ${String(parsed.error).split("\n")[0]}`,
      };
  }
  return { kind: "tool", name: tool.name, args };
}

function unescapeJsonString(body: string): string {
  // Drop a dangling escape, then let JSON do the unescaping.
  try {
    return JSON.parse(`"${body.replace(/\\(u[0-9a-fA-F]{0,3})?$/, "")}"`) as string;
  } catch {
    return body;
  }
}
