/**
 * Names of the population splits and of LaMP's download host; a module of its own (like
 * eval/method-names.ts) so the CLI can list them in its options without loading the data code.
 */
import { lampUrl } from "../../../src/configuration/settings.js";

/** How questions become users (data/oppu.ts). */
export const SPLITS = ["time", "user"] as const;
export type Split = (typeof SPLITS)[number];

/** LaMP's official releases (eval/download.ts). */
export const LAMP_BASE_URL = "https://ciir.cs.umass.edu/downloads/LaMP";
export const LAMP_SPLITS = ["user", "time"] as const;
export type LampSplit = (typeof LAMP_SPLITS)[number];

/** PERSONA_AGENT_LAMP_URL points at a mirror with the same layout. */
export function lampBaseUrl(): string {
  return (lampUrl() ?? LAMP_BASE_URL).replace(/\/+$/, "");
}
