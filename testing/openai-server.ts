/* eslint-disable @typescript-eslint/no-explicit-any -- requests are the protocol's JSON, recorded as received for tests to read */
/**
 * A scripted OpenAI-compatible HTTP server for tests. Point the real ChatOpenAI /
 * OpenAIEmbeddings at `server.url` (configuration.baseURL) and script the replies.
 *
 *   POST /v1/chat/completions  non-streaming JSON, or SSE when `stream: true`
 *   POST /v1/embeddings        deterministic hash-derived vectors (float or base64)
 *   GET  /v1/models            a small fixed list
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ScriptExhaustedError, settle, toResponder, type ResponderOf, type ScriptedReply } from "./scripted-chat.js";

export type { ScriptedReply } from "./scripted-chat.js";
export type Responder = ResponderOf<RecordedChatRequest>;

export interface RecordedChatRequest {
  model: string;
  messages: any[];
  tools?: any[];
  stream: boolean;
  body: any;
}

export interface OpenAITestServer {
  url: string; // e.g. http://127.0.0.1:PORT/v1  (use as OPENAI_BASE_URL / configuration.baseURL)
  requests: RecordedChatRequest[];
  embeddingRequests: any[];
  /** Messages of every 500 the server produced itself (script exhausted, responder threw). */
  failures: string[];
  close(): Promise<void>;
}

export interface OpenAIServerOptions {
  /** Embedding size when the request has no `dimensions` (default 16). */
  embeddingDims?: number;
  /** Awaited before each embeddings answer (recorded first): a test holds an embedding run midway with it. */
  beforeEmbedding?: () => Promise<void> | void;
}

export function startOpenAIServer(
  responder: Responder | ScriptedReply[],
  options: OpenAIServerOptions = {},
): Promise<OpenAITestServer> {
  const respond = toResponder(responder);
  const requests: RecordedChatRequest[] = [];
  const embeddingRequests: any[] = [];
  const failures: string[] = [];
  const dims = options.embeddingDims ?? 16;
  let seq = 0;

  const fail = (res: ServerResponse, status: number, message: string, type = "invalid_request_error") =>
    sendJson(res, status, { error: { message, type, param: null, code: null } });

  async function chat(body: any, res: ServerResponse): Promise<void> {
    const req: RecordedChatRequest = {
      model: body.model,
      messages: body.messages ?? [],
      ...(body.tools ? { tools: body.tools } : {}),
      stream: body.stream === true,
      body,
    };
    requests.push(req);
    const reply = await settle(await respond(req));
    if ("status" in reply) return sendScriptedError(res, reply);
    if ("reset" in reply) return void res.socket?.destroy();

    const id = `chatcmpl-${++seq}`;
    const created = Math.floor(Date.now() / 1000);
    const content = reply.content ?? "";
    const toolCalls = ("toolCalls" in reply ? reply.toolCalls : []).map((tc, i) => ({
      id: tc.id ?? `call_${seq}_${i}`,
      type: "function" as const,
      function: { name: tc.name, arguments: JSON.stringify(tc.args) },
    }));
    const finish_reason = toolCalls.length > 0 ? "tool_calls" : "stop";
    const prompt_tokens = approxTokens(JSON.stringify(req.messages));
    const completion_tokens = approxTokens(content + toolCalls.map((t) => t.function.arguments).join(""));
    const usage = { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
    const base = { id, created, model: req.model, system_fingerprint: "fp_test" };

    if (!req.stream) {
      const message = {
        role: "assistant",
        content: content === "" && toolCalls.length > 0 ? null : content,
        refusal: null,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      };
      return sendJson(res, 200, {
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message, logprobs: null, finish_reason }],
        usage,
      });
    }

    // SSE: role chunk, content in word pieces, each tool call in two argument halves, finish, usage, [DONE].
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    const chunk = (delta: object, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`,
      );
    chunk({ role: "assistant", content: "" });
    for (const piece of content.match(/\S+\s*|\s+/g) ?? []) chunk({ content: piece });
    toolCalls.forEach((tc, index) => {
      const args = tc.function.arguments;
      const half = Math.floor(args.length / 2);
      chunk({
        tool_calls: [
          { index, id: tc.id, type: "function", function: { name: tc.function.name, arguments: args.slice(0, half) } },
        ],
      });
      chunk({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] });
    });
    chunk({}, finish_reason);
    if (body.stream_options?.include_usage) {
      res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  }

  async function embeddings(body: any, res: ServerResponse): Promise<void> {
    embeddingRequests.push(body);
    await options.beforeEmbedding?.();
    const inputs: unknown[] =
      Array.isArray(body.input) && typeof body.input[0] !== "number" ? body.input : [body.input];
    const size = typeof body.dimensions === "number" ? body.dimensions : dims;
    const base64 = body.encoding_format === "base64";
    const data = inputs.map((input, index) => {
      const vec = fakeEmbedding(typeof input === "string" ? input : JSON.stringify(input), size);
      const embedding = base64 ? Buffer.from(Float32Array.from(vec).buffer).toString("base64") : vec;
      return { object: "embedding", index, embedding };
    });
    const tokens = inputs.reduce<number>((n, input) => n + approxTokens(String(input)), 0);
    sendJson(res, 200, {
      object: "list",
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/v1/models") {
      const data = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"].map((id) => ({
        id,
        object: "model",
        created: 0,
        owned_by: "test",
      }));
      return sendJson(res, 200, { object: "list", data });
    }
    const isChat = path === "/v1/chat/completions";
    if (req.method !== "POST" || (!isChat && path !== "/v1/embeddings")) {
      return fail(res, 404, `openai-server: unknown route ${req.method} ${path}`);
    }
    let body: any;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return fail(res, 400, "openai-server: request body is not valid JSON");
    }
    return isChat ? chat(body, res) : embeddings(body, res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const message = `openai-server: ${err instanceof ScriptExhaustedError ? "" : "responder failed: "}${err instanceof Error ? err.message : String(err)}`;
      failures.push(message);
      if (!res.headersSent) fail(res, 500, message, "server_error");
      else res.end();
    });
  });
  return listen(server).then((port) => ({
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    embeddingRequests,
    failures,
    close: () => closeServer(server),
  }));
}

/** Sends a scripted `{ status, body?, headers? }` reply; the default body is an OpenAI-style error. */
function sendScriptedError(
  res: ServerResponse,
  reply: { status: number; body?: unknown; headers?: Record<string, string>; stall?: boolean },
): void {
  const body = reply.body ?? {
    error: { message: `scripted error ${reply.status}`, type: "scripted_error", param: null, code: null },
  };
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(reply.status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json",
    ...reply.headers,
  });
  if (reply.stall) stallBody(res, text);
  else res.end(text);
}

/** Headers and half the body are sent, then the connection stays open and silent (closing the server drops it). */
export function stallBody(res: ServerResponse, text: string): void {
  res.flushHeaders();
  res.write(text.slice(0, Math.floor(text.length / 2)));
}

// ---- shared helpers (also used by bedrock-server.ts) ----------------------------------------

/** Deterministic unit vector derived from sha256 of the text; values are float32-exact. */
export function fakeEmbedding(text: string, dims = 16): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dims; block++) {
    const digest = createHash("sha256").update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && raw.length < dims; i += 2) raw.push(digest.readUInt16BE(i) / 32767.5 - 1);
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => Math.fround(v / norm));
}

/** Rough token count (4 characters a token), good enough for usage fields. */
export function approxTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** Listens on 127.0.0.1 on a free port and resolves with the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Closes the server, dropping keep-alive connections so Jest can exit. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}
