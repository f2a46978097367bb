/** Small helpers shared by the benchmarks: percentiles, memory readings, markdown tables. */
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

export const median = (values: number[]) => percentile(values, 0.5);
export const p95 = (values: number[]) => percentile(values, 0.95);

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const MB = 1024 * 1024;

/** Collects garbage when the process runs with --expose-gc (the bench scripts do). */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  /** ArrayBuffers (Float32Array data) live outside the V8 heap. */
  arrayBuffers: number;
}

export function memory(): MemoryReading {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

export async function time<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, performance.now() - started];
}

/** Zero-latency agent model: calls the memory tool once, then answers (the paper's minimal tool-using turn). */
export class InstantAgentModel extends BaseChatModel {
  calls = 0;
  _llmType() {
    return "instant";
  }
  override bindTools() {
    return this;
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls++;
    const used = messages.some((m) => ToolMessage.isInstance(m));
    const message = used
      ? new AIMessage("sci-fi")
      : new AIMessage({
          content: "",
          tool_calls: [{ id: "c1", name: "memory_retrieval", args: { query: messages.at(-1)!.text } }],
        });
    return { generations: [{ text: message.text, message }] };
  }
}
