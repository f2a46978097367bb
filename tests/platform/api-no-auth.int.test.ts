/**
 * The graphs on `langgraphjs dev` with auth off (PERSONA_AGENT_AUTH=off, local development, how
 * Studio users start it), through @langchain/langgraph-sdk: nothing pins the caller's user, so
 * the graphs read it from the run's context as the published schema says, or from
 * config.configurable as older callers give it, and say which when it is missing.
 */
import { Client } from "@langchain/langgraph-sdk";
import { startOpenAIServer, type OpenAITestServer, type RecordedChatRequest } from "../../testing/openai-server.js";
import { lastUserText, type ScriptedReply } from "../../testing/scripted-chat.js";
import { scriptedServerEnv, startDevServer, STARTUP_LIMIT_MS, type DevServer } from "../../testing/langgraph-dev.js";
import { ALICE_HISTORY, tempDir } from "../../testing/fixtures.js";
import { parseAlignmentPrompt } from "../../testing/alignment-prompts.js";

function scriptedProvider(req: RecordedChatRequest): ScriptedReply {
  if (req.tools)
    return req.messages.at(-1)?.role === "tool"
      ? { content: "sci-fi" }
      : { toolCalls: [{ name: "memory_retrieval", args: { query: lastUserText(req) } }] };
  const step = parseAlignmentPrompt(lastUserText(req))?.step;
  if (step === "grad") return { content: "GRAD: prefer the user's own tags" };
  if (step === "update") return { content: "ALIGNED persona" };
  return { content: "Profile: a sci-fi fan" };
}

describe("LangGraph dev server with auth off", () => {
  let openai: OpenAITestServer;
  let server: DevServer;
  let client: Client;
  const question = { messages: [{ role: "user", content: "Tag this movie: a colony ship drifts past Jupiter" }] };

  beforeAll(async () => {
    openai = await startOpenAIServer(scriptedProvider);
    server = await startDevServer({
      PERSONA_AGENT_AUTH: "off",
      ...(await scriptedServerEnv(openai.url, tempDir())),
    });
    client = new Client({ apiUrl: server.url });
  }, STARTUP_LIMIT_MS + 10_000);

  afterAll(async () => {
    await server?.stop();
    await openai?.close();
  });

  test("the user from the run's context: ingest, ask, and feedback whose alignment subgraph and replays run as that user", async () => {
    expect(
      await client.runs.wait(null, "ingest", { input: { entries: ALICE_HISTORY }, context: { userId: "alice" } }),
    ).toMatchObject({ added: 4, personaVersion: 1 });
    const answer = (await client.runs.wait(null, "persona_agent", {
      input: question,
      context: { userId: "alice" },
    })) as { answer: string; personaVersion: number };
    expect(answer).toMatchObject({ answer: "sci-fi", personaVersion: 1 });
    const feedback = (await client.runs.wait(null, "persona_agent", {
      input: { ...question, truth: "sci-fi" },
      context: { userId: "alice", alignEvery: 1, batchSize: 2 },
    })) as { alignment: { user: string; toVersion: number; iterations: { feedback: unknown[] }[] } };
    expect(feedback.alignment).toMatchObject({ user: "alice", fromVersion: 1, toVersion: 2 });
    expect(feedback.alignment.iterations[0]!.feedback).toHaveLength(2);
  });

  test("config.configurable.userId still works", async () => {
    expect(
      await client.runs.wait(null, "persona_agent", { input: question, config: { configurable: { userId: "alice" } } }),
    ).toMatchObject({ answer: "sci-fi", personaVersion: 2 });
  });

  test("no user: the error says where to give it; two different users: refused", async () => {
    await expect(client.runs.wait(null, "persona_agent", { input: question })).rejects.toThrow(
      /userId is required: give it in the run's context .* or in config.configurable/,
    );
    await expect(
      client.runs.wait(null, "forget", {
        input: {},
        context: { userId: "alice" },
        config: { configurable: { userId: "bob" } },
      }),
    ).rejects.toThrow(
      /userId is \\?"alice\\?" in the run's context but \\?"bob\\?" in config.configurable: set it once/,
    );
  });
});
