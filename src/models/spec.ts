import { UserError } from "../errors/errors.js";

export const CHAT_PROVIDERS = ["openai", "bedrock", "local"] as const;
export const EMBEDDING_PROVIDERS = ["local", "openai", "bedrock"] as const;
/** The embedding models `local:` runs offline (from an npm package). */
export const LOCAL_EMBEDDING_MODELS = ["universal-sentence-encoder"] as const;

export interface ModelSpec {
  provider: string;
  name: string;
}

/** Splits `provider:name` at the first colon (Bedrock ids contain colons themselves). */
export function parseModelSpec(spec: string, providers: readonly string[], what: string): ModelSpec {
  const at = spec.indexOf(":");
  const provider = at > 0 ? spec.slice(0, at) : "";
  const name = at > 0 ? spec.slice(at + 1).trim() : "";
  if (!providers.includes(provider) || !name) {
    throw new UserError(
      `invalid ${what} "${spec}": expected provider:name with provider one of ${providers.join(", ")} (e.g. ${providers[0]}:...)`,
    );
  }
  return { provider, name };
}
