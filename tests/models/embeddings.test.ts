/** createEmbeddings from the spec string: the offline default, and OpenAI / Bedrock against the scripted servers. */
import { UserError } from "../../src/errors/errors.js";
import { createEmbeddings, UniversalSentenceEncoderEmbeddings } from "../../src/models/embeddings.js";
import { startBedrockServer, type BedrockTestServer } from "../support/bedrock-server.js";
import { fakeEmbedding, startOpenAIServer, type OpenAITestServer } from "../../testing/openai-server.js";
import { isolateEnv, PROVIDER_ENV, useFakeAwsCredentials } from "./helpers.js";

isolateEnv(PROVIDER_ENV);

const options = { timeoutMs: 5000, maxRetries: 0 };
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe("local:universal-sentence-encoder", () => {
  test("512-d unit vectors; similar sentences score higher than unrelated ones", async () => {
    const embeddings = await createEmbeddings("local:universal-sentence-encoder", options);
    expect(embeddings).toBeInstanceOf(UniversalSentenceEncoderEmbeddings);

    const [cat, kitten, taxes] = await embeddings.embedDocuments([
      "The cat is sleeping on the sofa.",
      "A kitten naps on the couch.",
      "Quarterly tax filings are due at the end of April.",
    ]);
    for (const v of [cat!, kitten!, taxes!]) {
      expect(v).toHaveLength(512);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    expect(dot(cat!, kitten!)).toBeGreaterThan(dot(cat!, taxes!) + 0.2);
    expect(dot(kitten!, cat!)).toBeGreaterThan(dot(kitten!, taxes!) + 0.2);

    const query = await embeddings.embedQuery("The cat is sleeping on the sofa.");
    expect(dot(query, cat!)).toBeCloseTo(1, 4); // deterministic
    expect(await embeddings.embedDocuments([])).toEqual([]);
  });

  test("an unknown local model is a UserError listing the available ones", async () => {
    const attempt = createEmbeddings("local:word2vec", options);
    await expect(attempt).rejects.toBeInstanceOf(UserError);
    await expect(attempt).rejects.toThrow('unknown local embeddings "word2vec": available: universal-sentence-encoder');
  });
});

describe("openai:text-embedding-3-small", () => {
  test("embeds through the OpenAI server named by OPENAI_BASE_URL", async () => {
    const server: OpenAITestServer = await startOpenAIServer([]);
    close = server.close;
    process.env.OPENAI_BASE_URL = server.url;

    const embeddings = await createEmbeddings("openai:text-embedding-3-small", options);
    const [a, b] = await embeddings.embedDocuments(["alpha", "beta"]);
    expect(a).toEqual(fakeEmbedding("alpha"));
    expect(b).toEqual(fakeEmbedding("beta"));
    expect(await embeddings.embedQuery("gamma")).toEqual(fakeEmbedding("gamma"));
    expect(server.embeddingRequests).toHaveLength(2);
    expect(server.embeddingRequests[0]).toMatchObject({ model: "text-embedding-3-small", input: ["alpha", "beta"] });
  });

  test("needs OPENAI_API_KEY or OPENAI_BASE_URL", async () => {
    await expect(createEmbeddings("openai:text-embedding-3-small", options)).rejects.toBeInstanceOf(UserError);
  });
});

describe("bedrock:amazon.titan-embed-text-v2:0", () => {
  test("embeds through the Bedrock server named by AWS_ENDPOINT_URL_BEDROCK_RUNTIME", async () => {
    const server: BedrockTestServer = await startBedrockServer([]);
    close = server.close;
    useFakeAwsCredentials();
    process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME = server.url;

    const embeddings = await createEmbeddings("bedrock:amazon.titan-embed-text-v2:0", options);
    const [a, b] = await embeddings.embedDocuments(["alpha", "beta"]);
    expect(a).toEqual(fakeEmbedding("alpha"));
    expect(b).toEqual(fakeEmbedding("beta"));
    expect(server.embeddingRequests.map((r) => r.modelId)).toEqual([
      "amazon.titan-embed-text-v2:0",
      "amazon.titan-embed-text-v2:0",
    ]);
    expect(server.embeddingRequests.map((r) => r.body.inputText).sort()).toEqual(["alpha", "beta"]);
  });

  test("a missing region is a UserError", async () => {
    useFakeAwsCredentials();
    delete process.env.AWS_REGION;
    const attempt = createEmbeddings("bedrock:amazon.titan-embed-text-v2:0", options);
    await expect(attempt).rejects.toBeInstanceOf(UserError);
    await expect(attempt).rejects.toThrow(/^AWS_REGION is not set/);
  });
});
