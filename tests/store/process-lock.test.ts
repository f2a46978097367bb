/**
 * On a store without a cross-process lock (the dev server's InMemoryStore, which lives in one
 * process), forget holds the user's lock within the process: a run of the user that starts while
 * the forget is deleting waits for it, so it starts at the new generation and finds nothing of
 * the old user (issue 21, failure 2, as it shows on the dev server). The store here answers each
 * call a little later, as a store over a network does, so the deletion takes a while.
 */
import type { Operation, OperationResults } from "@langchain/langgraph";
import { InMemoryStore } from "@langchain/langgraph";
import { setTimeout as sleep } from "node:timers/promises";
import { EpisodicMemory } from "../../src/memory/episodic.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { forgetUser } from "../../src/users/forget.js";
import { asUserRun, runGeneration, userGeneration } from "../../src/store/lifecycle.js";
import { userNamespace } from "../../src/users/users.js";
import { CountingEmbeddings } from "../../testing/fixtures.js";

class SlowStore extends InMemoryStore {
  override async batch<Op extends readonly Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    await sleep(2);
    return super.batch(operations);
  }
}

test("a run that starts during a forget on the dev server's store waits for it and sees nothing of the old user", async () => {
  const store = new SlowStore();
  const memory = new EpisodicMemory(store, new CountingEmbeddings(), {
    embeddingsId: "local:universal-sentence-encoder",
  });
  await new PersonaStore(store).save("alice", "alice persona", "initialized");
  // Many namespaces, each listed and deleted on its own: the forget takes well over 100 ms.
  for (let i = 0; i < 200; i++) await store.put([...userNamespace("alice"), `part${i}`], "k", { text: "alice's" });
  const before = await userGeneration(store, "alice");

  const forget = forgetUser(store, memory, "alice");
  await sleep(100);
  const seen = await asUserRun(store, "alice", async () => ({
    generation: runGeneration("alice"),
    persona: await new PersonaStore(store).current("alice"),
    records: (await store.search(userNamespace("alice"), { limit: 1000 })).length,
  }));
  await forget;

  expect(seen).toEqual({ generation: before + 1, persona: undefined, records: 0 });
});
