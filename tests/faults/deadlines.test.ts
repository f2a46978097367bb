/**
 * Deadlines that hold (issue #12 item 5): a provider that sends the response headers and then
 * stalls the body is cut off by PERSONA_AGENT_TIMEOUT_MS, on OpenAI and Bedrock (before, the
 * SDKs' timeouts ended at the headers and `ask` hung forever); the local model's calls get the
 * same deadline (before, none).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createChatModel, describeProviderError } from "../../src/models/chat.js";
import { createEmbeddings } from "../../src/models/embeddings.js";
import { startBedrockServer, type BedrockTestServer } from "../support/bedrock-server.js";
import { stalledBody } from "../support/fault-server.js";
import { runCli } from "../support/cli.js";
import { healthy, useFaultyCli } from "./support.js";
import { isolateEnv, PROVIDER_ENV, useFakeAwsCredentials } from "../models/helpers.js";
import { join } from "node:path";
import { disposeLocalModels } from "../../src/models/local/index.js";
import { tempDir } from "../../testing/fixtures.js";
import { writeTinyLlama } from "../../testing/tiny-gguf.js";

const TIMED_OUT = /^the model call timed out \(.*\); raise PERSONA_AGENT_TIMEOUT_MS or check the provider$/;

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; elapsed: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, elapsed: Date.now() - started };
}

describe("a stalled body through the CLI (real ChatOpenAI)", () => {
  const suite = useFaultyCli("faults-deadline-");

  test("ask: headers then silence -> one retry, one timed-out line, exit 3, nothing changed", async () => {
    const before = await suite.state();
    const sent = suite.chat();
    suite.setFault((req) => (req.tools ? stalledBody() : healthy(req)));
    const started = Date.now();
    const res = await runCli(["ask", "--user", "alice", "Tag this movie: a signal from Europa"], suite.env);
    expect(res).toMatchObject({ code: 3, stdout: "" });
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res.stderr.replace(/^persona-agent: /, "").trim()).toMatch(TIMED_OUT);
    expect(suite.chat() - sent).toBe(2); // PERSONA_AGENT_TIMEOUT_MS=500 per request, PERSONA_AGENT_MAX_RETRIES=1
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await suite.state()).toEqual(before);
  }, 30_000);
});

describe("a stalled body on Bedrock (real ChatBedrockConverse)", () => {
  isolateEnv([...PROVIDER_ENV]);
  let server: BedrockTestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test("the deadline covers the body: a TimeoutError after about timeoutMs, mapped to 'timed out'", async () => {
    server = await startBedrockServer(() =>
      stalledBody({
        output: { message: { role: "assistant", content: [{ text: "never whole" }] } },
        stopReason: "end_turn",
      }),
    );
    useFakeAwsCredentials();
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = server.url;
    const model = await createChatModel("bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0", {
      temperature: 0.1,
      timeoutMs: 400,
      maxRetries: 0,
    });
    const { error, elapsed } = await failure(model.invoke("hi"));
    expect(describeProviderError(error)).toMatch(TIMED_OUT);
    expect(elapsed).toBeLessThan(400 + 2_000);
  });
});

describe("a stalled body on OpenAI embeddings (real OpenAIEmbeddings)", () => {
  isolateEnv([...PROVIDER_ENV]);

  test("the deadline covers the body: timed out after about timeoutMs, not a hang", async () => {
    // Headers and half of a valid response, then silence (the connection stays open).
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      process.env.OPENAI_BASE_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      const embeddings = await createEmbeddings("openai:text-embedding-3-small", { timeoutMs: 400, maxRetries: 0 });
      const { error, elapsed } = await failure(embeddings.embedQuery("a signal from Europa"));
      expect(describeProviderError(error)).toMatch(TIMED_OUT);
      expect(elapsed).toBeLessThan(400 + 2_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the local model's calls have the same deadline", () => {
  afterAll(() => disposeLocalModels());

  test("a generation still running at timeoutMs is stopped and reported as timed out (loading is not counted)", async () => {
    const path = writeTinyLlama(join(tempDir("faults-local-"), "tiny.gguf"));
    const model = await createChatModel(`local:${path}`, { temperature: 0.1, timeoutMs: 20, maxRetries: 0 });
    const { error, elapsed } = await failure(model.invoke("Write a very long story about the sea."));
    expect(describeProviderError(error)).toMatch(TIMED_OUT);
    expect(elapsed).toBeLessThan(20_000);
    const patient = await createChatModel(`local:${path}`, { temperature: 0.1, timeoutMs: 60_000, maxRetries: 0 });
    await expect(patient.invoke("hi")).resolves.toBeDefined();
  }, 60_000);
});
