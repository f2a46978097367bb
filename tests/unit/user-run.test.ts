/** A user's run (store/lifecycle.ts): nested runs keep the generation the outer run started at. */
import { InMemoryStore } from "@langchain/langgraph";
import { asUserRun, nextGeneration, putUserItems, UserForgottenError } from "../../src/store/lifecycle.js";
import { userNamespace } from "../../src/users/users.js";

const write = (store: InMemoryStore) =>
  putUserItems(store, "alice", [{ namespace: userNamespace("alice", "meta"), key: "x", value: { v: 1 } }]);

describe("asUserRun", () => {
  test("a nested run started after a forget still belongs to the older outer run: its writes are refused", async () => {
    const store = new InMemoryStore();
    await expect(
      asUserRun(store, "alice", async () => {
        await nextGeneration(store, "alice"); // a forget by someone else while the command runs
        await asUserRun(store, "alice", () => write(store));
      }),
    ).rejects.toBeInstanceOf(UserForgottenError);
    expect(await store.get(userNamespace("alice", "meta"), "x")).toBeNull();
  });

  test("an explicit start generation wins over the current one; a fresh run after the forget writes", async () => {
    const store = new InMemoryStore();
    await nextGeneration(store, "alice");
    await expect(asUserRun(store, "alice", () => write(store), 0)).rejects.toBeInstanceOf(UserForgottenError);
    await asUserRun(store, "alice", () => write(store));
    expect((await store.get(userNamespace("alice", "meta"), "x"))?.value).toEqual({ v: 1 });
  });
});
