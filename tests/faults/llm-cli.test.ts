/**
 * LLM faults through the real executable and the real ChatOpenAI (the production factory),
 * served by a fault-injecting OpenAI-compatible server on 127.0.0.1: every fault gets bounded
 * retries, then one clear line and exit 3 (or a graceful answer), and never changes the
 * user's persona, memory or interaction log.
 */
import { hang, rateLimited, rawJson, serverError, truncatedCompletion } from "../support/fault-server.js";
import { runCli } from "../support/cli.js";
import { healthy, type Fault, useFaultyCli } from "./support.js";

describe("LLM faults in ask through the CLI (real ChatOpenAI, fault-injecting server)", () => {
  const suite = useFaultyCli("faults-llm-");
  const { chat, state, setFault } = suite;

  const cases: [string, Fault, RegExp][] = [
    [
      "a hung connection (accepted, never answered)",
      () => hang(),
      /^persona-agent: the model call timed out \(Request timed out\.\); raise PERSONA_AGENT_TIMEOUT_MS/,
    ],
    [
      "HTTP 429 with retry-after",
      () => rateLimited(0),
      /^persona-agent: the model provider is rate-limiting requests \(retries exhausted\): 429 Rate limit reached/,
    ],
    [
      "HTTP 500",
      () => serverError(500),
      /^persona-agent: the model provider failed with HTTP 500 \(retries exhausted\)/,
    ],
    [
      "a truncated JSON body",
      () => truncatedCompletion(),
      /^persona-agent: the model provider sent an invalid response \(Unterminated string in JSON/,
    ],
    [
      "a body that is not JSON",
      () => rawJson("<html>502 Bad Gateway</html>"),
      /^persona-agent: the model provider sent an invalid response \(Unexpected token '<'/,
    ],
  ];

  test.each(cases)("ask: %s -> one retry, one line, exit 3, nothing changed", async (_name, f, message) => {
    const before = await state();
    const sent = chat();
    setFault(f);
    const res = await runCli(
      ["ask", "--user", "alice", "Tag this movie: a colony ship drifts past Jupiter"],
      suite.env,
    );
    expect(res.stderr).toMatch(message);
    expect(res.stderr.trim().split("\n")).toHaveLength(1);
    expect(res).toMatchObject({ code: 3, stdout: "" });
    expect(chat() - sent).toBe(2); // PERSONA_AGENT_MAX_RETRIES=1: bounded
    expect(await state()).toEqual(before);
  });

  test("a transient 500 is retried and the ask succeeds", async () => {
    let failed = 0;
    setFault((req) => (failed++ === 0 ? serverError(500) : healthy(req)));
    const res = await runCli(["ask", "--user", "alice", "--json", "Tag this movie: a robot on Mars"], suite.env);
    expect(res.stderr).toBe("");
    expect(JSON.parse(res.stdout)).toMatchObject({ answer: "sci-fi", personaVersion: 1 });
  });

  test("the retry waits as long as the 429's retry-after asks", async () => {
    const times: number[] = [];
    setFault((req) => (times.push(Date.now()), times.length === 1 ? rateLimited(3) : healthy(req)));
    const res = await runCli(["ask", "--user", "alice", "Tag this movie: a time loop on a space station"], suite.env);
    expect(res).toMatchObject({ code: 0, stdout: "sci-fi\n" });
    // p-retry's own backoff is at most 2 s for the first retry: 3 s can only come from the header.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(2_900);
  }, 20_000);
});
