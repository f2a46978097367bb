/**
 * Input edge cases (issue #12 item 8): impossible dates, timestamps without a zone, one limit for
 * every free-text field, metadata keys JavaScript would drop, and user ids in NFC and NFD form.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseHistoryJsonl } from "../../src/memory/history.js";

/** The one free-text limit (MAX_TEXT_CHARS in src/memory/history.ts, which ingest has always used). */
const MAX_TEXT_CHARS = 100_000;
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { PersonaStore } from "../../src/persona/persona.js";
import { userFileKey, userNamespace, validateUserId } from "../../src/users/users.js";
import { runCli } from "../support/cli.js";
import { useFaultyCli } from "./support.js";

const line = (entry: object) =>
  JSON.stringify({ query: "Tag this movie: a heist on the moon", response: "sci-fi", ...entry });

describe("history timestamps", () => {
  test.each([
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-04-31T10:00:00Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T10:60",
  ])("%s is refused with the line number, never rolled over", (timestamp) => {
    const text = `${line({})}\n${line({ timestamp })}\n`;
    expect(() => parseHistoryJsonl(text, "h.jsonl")).toThrow(
      /^h\.jsonl:2: "timestamp" must be an ISO-8601 date string/,
    );
  });

  test("real dates still pass, a leap day included", () => {
    expect(parseHistoryJsonl(line({ timestamp: "2024-02-29" }), "h")[0]!.timestamp).toBe("2024-02-29T00:00:00.000Z");
  });

  test("a date-time without a zone is UTC whatever the machine's TZ (re-ingesting under another TZ finds the same entries)", () => {
    // A child process per TZ: the zone is fixed when Node starts (Jest's process.env is a copy).
    const src = fileURLToPath(new URL("../../src/memory/history.ts", import.meta.url));
    const lines = ["2024-01-01 00:00", "2024-01-01T09:30:15", "2024-01-01T09:30:15+02:00"]
      .map((timestamp) => line({ timestamp }))
      .join("\n");
    const script = `import(${JSON.stringify(src)}).then((m) => process.stdout.write(JSON.stringify(m.parseHistoryJsonl(${JSON.stringify(lines)}, "h").map((e) => e.timestamp))))`;
    for (const tz of ["Asia/Tokyo", "America/Los_Angeles", "UTC"]) {
      const out = execFileSync(process.execPath, ["--import", "tsx", "-e", script], {
        env: { PATH: process.env.PATH, TZ: tz },
      });
      expect([tz, JSON.parse(out.toString())]).toEqual([
        tz,
        ["2024-01-01T00:00:00.000Z", "2024-01-01T09:30:15.000Z", "2024-01-01T07:30:15.000Z"],
      ]);
    }
  });
});

describe("history metadata keys", () => {
  test('"__proto__" is refused (JavaScript would drop it silently), naming the line', () => {
    const text = `${line({})}\n${line({})}\n{"query": "q", "response": "r", "metadata": {"__proto__": {"polluted": true}, "ok": 1}}\n`;
    expect(() => parseHistoryJsonl(text, "h.jsonl")).toThrow(/^h\.jsonl:3: "metadata" has a key "__proto__"/);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test("every other key is kept as given", () => {
    const metadata = { constructor: "c", toString: "t", nested: { a: [1, { b: null }] } };
    expect(parseHistoryJsonl(line({ metadata }), "h")[0]!.metadata).toEqual(metadata);
  });
});

describe("user ids", () => {
  const nfc = "Zo\u00eb";
  const nfd = "Zoe\u0308";

  test("NFC and NFD forms of one id are one user: same namespace, same file key", () => {
    expect(validateUserId(nfd)).toBe(nfc);
    expect(userNamespace(nfd, "persona")).toEqual(userNamespace(nfc, "persona"));
    expect(userFileKey(nfd)).toBe(userFileKey(nfc));
  });

  test("a persona saved under one form is the other form's persona", async () => {
    const store = new SqliteStore(":memory:");
    const personas = new PersonaStore(store);
    await personas.save(nfc, "likes sci-fi", "initialized");
    expect((await personas.current(nfd))?.persona).toBe("likes sci-fi");
    store.close();
  });

  test.each([
    ["U+0085", "ali\u0085ce"],
    ["U+202E", "ali\u202Ece"],
    ["U+200B", "ali\u200bce"],
  ])("an id with %s is refused with exit 2 and one line", async (_code, id) => {
    const result = await runCli(["persona", "--user", id], { PERSONA_AGENT_DATA_DIR: "/nonexistent/never-created" });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `persona-agent: invalid user id ${JSON.stringify(id)} (--user): use 1-128 printable characters (no control, format or zero-width characters)\n`,
    );
  });
});

describe("one limit for every free-text field", () => {
  const suite = useFaultyCli("faults-inputs-");

  test(`feedback --truth over ${MAX_TEXT_CHARS} characters is refused like an ingested response, nothing stored`, async () => {
    const before = await suite.state();
    const res = await runCli(
      [
        "feedback",
        "--user",
        "alice",
        "--query",
        "Tag this movie: a long one",
        "--truth",
        "t".repeat(MAX_TEXT_CHARS + 1),
      ],
      suite.env,
    );
    expect(res).toMatchObject({ code: 2, stdout: "" });
    expect(res.stderr).toBe(
      `persona-agent: the true response (--truth) is too long (${MAX_TEXT_CHARS + 1} characters, at most ${MAX_TEXT_CHARS})\n`,
    );
    expect(await suite.state()).toEqual(before);
    expect(() => parseHistoryJsonl(line({ response: "r".repeat(MAX_TEXT_CHARS + 1) }), "h")).toThrow(
      `at most ${MAX_TEXT_CHARS}`,
    );
  });
});
