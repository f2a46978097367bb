/* eslint-disable @typescript-eslint/no-explicit-any -- requests are the protocol's JSON, recorded as received for tests to read */
/**
 * A scripted server speaking just enough of the Bedrock Runtime API for tests. Give the real
 * ChatBedrockConverse / BedrockEmbeddings a BedrockRuntimeClient whose `endpoint` is `server.url`.
 *
 *   POST /model/{modelId}/converse         Converse (JSON)
 *   POST /model/{modelId}/converse-stream  ConverseStream (binary AWS event stream)
 *   POST /model/{modelId}/invoke           Titan embeddings: {inputText, dimensions?} -> {embedding, inputTextTokenCount}
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import {
  approxTokens,
  closeServer,
  fakeEmbedding,
  listen,
  readBody,
  sendJson,
  stallBody,
} from "../../testing/openai-server.js";
import {
  ScriptExhaustedError,
  settle,
  toResponder,
  type ResponderOf,
  type ScriptedReply,
} from "../../testing/scripted-chat.js";

export type { ScriptedReply } from "../../testing/scripted-chat.js";
export type BedrockResponder = ResponderOf<RecordedConverseRequest>;

export interface RecordedConverseRequest {
  modelId: string;
  messages: any[]; // Converse messages: { role, content: [{text}|{toolUse}|{toolResult}] }
  system?: any[]; // [{text}]
  toolConfig?: any; // { tools: [{ toolSpec: { name, description, inputSchema: { json } } }] }
  stream: boolean;
  body: any;
}

export interface BedrockTestServer {
  url: string; // e.g. http://127.0.0.1:PORT  (use as the BedrockRuntimeClient `endpoint`)
  requests: RecordedConverseRequest[];
  embeddingRequests: { modelId: string; body: any }[];
  /** Messages of every 500 the server produced itself (script exhausted, responder threw). */
  failures: string[];
  close(): Promise<void>;
}

export interface BedrockServerOptions {
  /** Embedding size when the request has no `dimensions` (default 16). */
  embeddingDims?: number;
}

/** AWS error type names sent in `x-amzn-errortype`, which the SDK turns into exception classes. */
const ERROR_TYPES: Record<number, string> = {
  400: "ValidationException",
  403: "AccessDeniedException",
  404: "ResourceNotFoundException",
  429: "ThrottlingException",
  500: "InternalServerException",
  503: "ServiceUnavailableException",
};

/** What Bedrock answers (HTTP 400 ValidationException) to toolUse/toolResult blocks sent without a toolConfig. */
export const TOOL_CONFIG_REQUIRED =
  "The toolConfig field must be defined when using toolUse and toolResult content blocks.";

const awsError = (res: ServerResponse, status: number, message: string) =>
  sendJson(res, status, { message }, { "x-amzn-errortype": ERROR_TYPES[status] ?? "InternalServerException" });

export function startBedrockServer(
  responder: BedrockResponder | ScriptedReply[],
  options: BedrockServerOptions = {},
): Promise<BedrockTestServer> {
  const respond = toResponder(responder);
  const requests: RecordedConverseRequest[] = [];
  const embeddingRequests: { modelId: string; body: any }[] = [];
  const failures: string[] = [];
  let seq = 0;

  async function converse(modelId: string, body: any, stream: boolean, res: ServerResponse): Promise<void> {
    const req: RecordedConverseRequest = {
      modelId,
      messages: body.messages ?? [],
      ...(body.system ? { system: body.system } : {}),
      ...(body.toolConfig ? { toolConfig: body.toolConfig } : {}),
      stream,
      body,
    };
    requests.push(req);
    // Bedrock's own check, before any model runs: a history with tool blocks needs the tool config.
    if (
      !body.toolConfig &&
      req.messages.some((m: any) => (m.content ?? []).some((c: any) => "toolUse" in c || "toolResult" in c))
    ) {
      return awsError(res, 400, TOOL_CONFIG_REQUIRED);
    }
    const reply = await settle(await respond(req));
    if ("status" in reply) {
      const payload = reply.body ?? { message: `scripted error ${reply.status}` };
      if (reply.stall) {
        res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        return stallBody(res, JSON.stringify(payload));
      }
      const headers = { "x-amzn-errortype": ERROR_TYPES[reply.status] ?? "InternalServerException", ...reply.headers };
      return sendJson(res, reply.status, payload, headers);
    }
    if ("reset" in reply) return void res.socket?.destroy();

    const text = reply.content ?? "";
    const toolUses = ("toolCalls" in reply ? reply.toolCalls : []).map((tc, i) => ({
      toolUseId: tc.id ?? `tooluse_${++seq}_${i}`,
      name: tc.name,
      input: tc.args,
    }));
    const stopReason = toolUses.length > 0 ? "tool_use" : "end_turn";
    const inputTokens = approxTokens(JSON.stringify(req.messages) + JSON.stringify(req.system ?? ""));
    const outputTokens = approxTokens(text + JSON.stringify(toolUses));
    const usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
    const metrics = { latencyMs: 1 };

    if (!stream) {
      const content = [...(text !== "" ? [{ text }] : []), ...toolUses.map((toolUse) => ({ toolUse }))];
      return sendJson(res, 200, { output: { message: { role: "assistant", content } }, stopReason, usage, metrics });
    }

    // Event stream: messageStart, text block in word deltas, one block per tool use, messageStop, metadata.
    res.writeHead(200, { "content-type": "application/vnd.amazon.eventstream" });
    const event = (type: string, payload: object) => res.write(encodeEvent(type, payload));
    event("messageStart", { role: "assistant" });
    let index = 0;
    if (text !== "") {
      for (const piece of text.match(/\S+\s*|\s+/g) ?? [])
        event("contentBlockDelta", { contentBlockIndex: index, delta: { text: piece } });
      event("contentBlockStop", { contentBlockIndex: index++ });
    }
    for (const tu of toolUses) {
      event("contentBlockStart", {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: tu.toolUseId, name: tu.name } },
      });
      event("contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: JSON.stringify(tu.input) } } });
      event("contentBlockStop", { contentBlockIndex: index++ });
    }
    event("messageStop", { stopReason });
    event("metadata", { usage, metrics });
    res.end();
  }

  function invoke(modelId: string, body: any, res: ServerResponse): void {
    embeddingRequests.push({ modelId, body });
    if (typeof body.inputText !== "string")
      return awsError(res, 400, "bedrock-server: invoke supports Titan embeddings only ({inputText})");
    const dims = typeof body.dimensions === "number" ? body.dimensions : (options.embeddingDims ?? 16);
    sendJson(res, 200, {
      embedding: fakeEmbedding(body.inputText, dims),
      inputTextTokenCount: approxTokens(body.inputText),
    });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(path);
    if (req.method !== "POST" || !match)
      return awsError(res, 404, `bedrock-server: unknown route ${req.method} ${path}`);
    const modelId = decodeURIComponent(match[1]!); // the SDK encodes ":" in model ids
    let body: any;
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return awsError(res, 400, "bedrock-server: request body is not valid JSON");
    }
    if (match[2] === "invoke") return invoke(modelId, body, res);
    return converse(modelId, body, match[2] === "converse-stream", res);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      const message = `bedrock-server: ${err instanceof ScriptExhaustedError ? "" : "responder failed: "}${err instanceof Error ? err.message : String(err)}`;
      failures.push(message);
      if (!res.headersSent) awsError(res, 500, message);
      else res.end();
    });
  });
  return listen(server).then((port) => ({
    url: `http://127.0.0.1:${port}`,
    requests,
    embeddingRequests,
    failures,
    close: () => closeServer(server),
  }));
}

// ---- AWS event stream encoding (application/vnd.amazon.eventstream) ------------------------

/** One event message: prelude (lengths + CRC), string headers, JSON payload, message CRC. */
function encodeEvent(eventType: string, payload: object): Buffer {
  const headers = Buffer.concat(
    Object.entries({ ":event-type": eventType, ":content-type": "application/json", ":message-type": "event" }).map(
      ([name, value]) => {
        const n = Buffer.from(name);
        const v = Buffer.from(value);
        const len = Buffer.alloc(2);
        len.writeUInt16BE(v.length);
        return Buffer.concat([Buffer.from([n.length]), n, Buffer.from([7]), len, v]); // 7 = string
      },
    ),
  );
  const body = Buffer.from(JSON.stringify(payload));
  const total = 12 + headers.length + body.length + 4;
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headers.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const message = Buffer.concat([prelude, headers, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(message));
  return Buffer.concat([message, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE), as the event stream framing requires. */
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
