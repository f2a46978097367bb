/** The names of the evaluated methods; a module of its own so the CLI can list them without loading the graphs. */
import { UserError } from "../../src/errors/errors.js";

export const BASELINES = ["prompt", "icl", "rag-1", "rag-4", "pag-4", "react", "membank", "persona-agent"] as const;
export const ABLATIONS = [
  "persona-agent-no-alignment",
  "persona-agent-no-persona",
  "persona-agent-no-memory",
  "persona-agent-no-action",
] as const;
export const METHODS = [...BASELINES, ...ABLATIONS] as const;
export type MethodName = (typeof METHODS)[number];

export function parseMethod(name: string): MethodName {
  if (!(METHODS as readonly string[]).includes(name))
    throw new UserError(`unknown method "${name}": use one of ${METHODS.join(", ")}`);
  return name as MethodName;
}
