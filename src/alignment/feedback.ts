/**
 * The feedback use case, one place for the CLI's `feedback` and persona_agent's `truth`: the
 * user's true response to a query joins their memory (future retrievals and alignment batches
 * see it) and the feedback count since the last alignment goes up. Whether that count calls for
 * an alignment is the caller's to act on (the CLI runs the alignment graph, persona_agent its
 * alignment subgraph).
 */
import { END, type LangGraphRunnableConfig } from "@langchain/langgraph";
import { turnQuery, validateQuery, validateTruth } from "../agent/nodes.js";
import type { PersonaAgentStateType, PersonaAgentUpdate } from "../agent/state.js";
import { servicesFor, type Services } from "../services/services.js";
import { ensureAlignmentConfiguration } from "./configuration.js";
import { asUserRun, assertCurrent } from "../store/lifecycle.js";
import { FeedbackLog } from "./feedback-log.js";
import { loadPersona } from "../persona/persona.js";

export interface UserFeedback {
  query: string;
  /** The user's true response to the query. */
  truth: string;
}

/** Records the feedback for the services' user; returns how many feedbacks came since the last alignment. */
export async function recordFeedback(
  services: Services,
  feedback: UserFeedback,
  truthField?: string,
): Promise<{ sinceAlignment: number }> {
  const query = validateQuery(feedback.query);
  const truth = validateTruth(feedback.truth, truthField);
  const userId = services.config.userId;
  await loadPersona(services.personas, userId);
  await services.memory.add(userId, [{ query, response: truth, timestamp: new Date().toISOString() }]);
  return { sinceAlignment: await new FeedbackLog(services.store).add(userId) };
}

/** persona_agent's record_truth step: records the turn's true response, which is then spent (a continued thread's next turn gives its own). */
export async function recordTruth(
  state: PersonaAgentStateType,
  config: LangGraphRunnableConfig,
): Promise<PersonaAgentUpdate> {
  const services = servicesFor(config);
  const { store } = services;
  const { userId } = services.config;
  // Part of the turn's run of the user: a forget since the turn started, or while this writes, wins (store/lifecycle.ts).
  const { sinceAlignment } = await asUserRun(
    store,
    userId,
    async () => {
      await assertCurrent(store, userId); // says "forgotten" rather than "unknown user" when the forget came first
      return recordFeedback(services, { query: turnQuery(state.messages), truth: state.truth ?? "" });
    },
    state.userGeneration,
  );
  return { sinceAlignment, truth: null };
}

export function routeAfterRecord(state: PersonaAgentStateType): "record_truth" | typeof END {
  return state.truth != null ? "record_truth" : END;
}

/** Alignment is due once `alignEvery` feedbacks came in since the last one (a failed alignment stays due). */
export function routeAfterTruth(state: PersonaAgentStateType, config: LangGraphRunnableConfig): "align" | typeof END {
  return (state.sinceAlignment ?? 0) >= ensureAlignmentConfiguration(config).alignEvery ? "align" : END;
}
