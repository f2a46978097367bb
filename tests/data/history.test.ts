import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors/errors.js";
import { parseHistoryJsonl, readHistoryFile, type HistoryEntry } from "../../src/memory/history.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "history-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tempFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Runs fn and returns the UserError it throws (failing if it throws something else or nothing). */
async function userError(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return (err as Error).message;
  }
  throw new Error("expected a UserError");
}

const line = (o: unknown) => JSON.stringify(o);

describe("parseHistoryJsonl", () => {
  it("parses entries, skipping blank lines, and tolerates a BOM and CRLF", () => {
    const text =
      "\uFEFF" +
      line({ query: "q1", response: "r1" }) +
      "\r\n\r\n   \r\n" +
      line({ query: "q2", response: "r2", timestamp: "2024-03-01T10:00:00+02:00", metadata: { tags: ["a"], n: 1 } }) +
      "\r\n";
    expect(parseHistoryJsonl(text, "h.jsonl")).toEqual<HistoryEntry[]>([
      { query: "q1", response: "r1" },
      { query: "q2", response: "r2", timestamp: "2024-03-01T08:00:00.000Z", metadata: { tags: ["a"], n: 1 } },
    ]);
  });

  it("leaves optional keys out instead of setting them to undefined", () => {
    const [entry] = parseHistoryJsonl(line({ query: "q", response: "r", timestamp: null, metadata: null }), "h.jsonl");
    expect(Object.keys(entry!)).toEqual(["query", "response"]);
  });

  it("normalizes date-only and UTC timestamps to ISO strings", () => {
    const entries = parseHistoryJsonl(
      [
        line({ query: "q", response: "r", timestamp: "2023-12-31" }),
        line({ query: "q", response: "r", timestamp: "2023-12-31T23:59:59Z" }),
      ].join("\n"),
      "h.jsonl",
    );
    expect(entries.map((e) => e.timestamp)).toEqual(["2023-12-31T00:00:00.000Z", "2023-12-31T23:59:59.000Z"]);
  });

  it("keeps Unicode and control characters inside strings", () => {
    const query = "naïve café 日本語 😀 tab\there\nnewline\u0001 \u2028sep";
    const [entry] = parseHistoryJsonl(line({ query, response: "ok \u001f unit separator" }), "h.jsonl");
    expect(entry).toEqual({ query, response: "ok \u001f unit separator" });
  });

  it("refuses NUL characters and unpaired surrogates, which PostgreSQL's JSONB cannot store", () => {
    expect(() => parseHistoryJsonl(line({ query: "q", response: "ok \u0000 null char" }), "h.jsonl")).toThrow(
      'h.jsonl:1: "response" contains a NUL character (U+0000)',
    );
    expect(() => parseHistoryJsonl(line({ query: "q\ud800", response: "r" }), "h.jsonl")).toThrow(
      'h.jsonl:1: "query" contains an unpaired UTF-16 surrogate',
    );
  });

  it("drops unknown keys", () => {
    expect(parseHistoryJsonl(line({ query: "q", response: "r", extra: 1 }), "h.jsonl")).toEqual([
      { query: "q", response: "r" },
    ]);
  });

  const ok = line({ query: "q", response: "r" });
  it.each<[string, string, string]>([
    ["invalid JSON", "{not json", "history.jsonl:3: invalid JSON ("],
    ["a non-object line", "[1,2]", "history.jsonl:3: expected a JSON object"],
    ["a missing query", line({ response: "r" }), 'history.jsonl:3: "query" is missing'],
    ["an empty query", line({ query: "", response: "r" }), 'history.jsonl:3: "query" must be a non-empty string'],
    ["a missing response", line({ query: "q" }), 'history.jsonl:3: "response" is missing'],
    [
      "a whitespace-only response",
      line({ query: "q", response: " \t " }),
      'history.jsonl:3: "response" must be a non-empty string',
    ],
    ["a non-string query", line({ query: 42, response: "r" }), 'history.jsonl:3: "query" must be a non-empty string'],
    [
      "a non-string response",
      line({ query: "q", response: ["r"] }),
      'history.jsonl:3: "response" must be a non-empty string',
    ],
    [
      "an unparseable timestamp",
      line({ query: "q", response: "r", timestamp: "yesterday" }),
      'history.jsonl:3: "timestamp" must be an ISO-8601 date string',
    ],
    [
      "a non-ISO timestamp",
      line({ query: "q", response: "r", timestamp: "March 7, 2020" }),
      'history.jsonl:3: "timestamp" must be an ISO-8601 date string',
    ],
    [
      "an out-of-range timestamp",
      line({ query: "q", response: "r", timestamp: "2024-13-45" }),
      'history.jsonl:3: "timestamp" must be an ISO-8601 date string',
    ],
    [
      "a numeric timestamp",
      line({ query: "q", response: "r", timestamp: 1700000000 }),
      'history.jsonl:3: "timestamp" must be an ISO-8601 date string',
    ],
    [
      "array metadata",
      line({ query: "q", response: "r", metadata: [1] }),
      'history.jsonl:3: "metadata" must be a JSON object',
    ],
    [
      "string metadata",
      line({ query: "q", response: "r", metadata: "x" }),
      'history.jsonl:3: "metadata" must be a JSON object',
    ],
  ])("rejects %s with file and 1-based line number", async (_, bad, message) => {
    // Line 2 is blank: blank lines still count towards the line number.
    const msg = await userError(() => parseHistoryJsonl(`${ok}\n\n${bad}\n${ok}`, "history.jsonl"));
    expect(msg.startsWith(message)).toBe(true);
    expect(msg).not.toContain("\n");
  });

  it("numbers lines the same with CRLF line endings", async () => {
    expect(await userError(() => parseHistoryJsonl(`${ok}\r\n${ok}\r\n{`, "h.jsonl"))).toMatch(
      /^h\.jsonl:3: invalid JSON/,
    );
  });

  it.each([
    ["empty", ""],
    ["blank", "\n  \r\n\n"],
    ["BOM-only", "\uFEFF"],
  ])("rejects %s text as having no entries", async (_, text) => {
    expect(await userError(() => parseHistoryJsonl(text, "h.jsonl"))).toBe(
      "h.jsonl: no history entries (the file is empty or blank)",
    );
  });
});

describe("readHistoryFile", () => {
  it("reads the same entries as parseHistoryJsonl", async () => {
    const text =
      "\uFEFF" +
      line({ query: "é", response: "r", metadata: { k: "v" } }) +
      "\r\n\n" +
      line({ query: "q", response: "r", timestamp: "2020-01-02" });
    const path = await tempFile("same.jsonl", text);
    const entries = await readHistoryFile(path);
    expect(entries).toEqual(parseHistoryJsonl(text, path));
    expect(entries).toHaveLength(2);
    expect(entries[1]!.timestamp).toBe("2020-01-02T00:00:00.000Z");
  });

  it("streams many lines with multi-byte characters across chunk boundaries intact", async () => {
    // ~5 MB over many 64 KiB read chunks; a 4-byte emoji is bound to straddle some boundary.
    const query = "😀é日本".repeat(50);
    const n = 20000;
    const path = await tempFile(
      "big.jsonl",
      Array.from({ length: n }, (_, i) => line({ query, response: `r${i}` })).join("\n") + "\n",
    );
    const entries = await readHistoryFile(path);
    expect(entries).toHaveLength(n);
    expect(entries.every((e) => e.query === query)).toBe(true);
    expect(entries[n - 1]!.response).toBe(`r${n - 1}`);
  });

  it("names the file path and line of a malformed line", async () => {
    const path = await tempFile(
      "bad.jsonl",
      `${line({ query: "q", response: "r" })}\r\n\r\n${line({ query: "q", response: "" })}\r\n`,
    );
    expect(await userError(() => readHistoryFile(path))).toBe(`${path}:3: "response" must be a non-empty string`);
  });

  it("reports a missing file", async () => {
    const path = join(dir, "nope.jsonl");
    expect(await userError(() => readHistoryFile(path))).toBe(`cannot read ${path}: no such file`);
  });

  it("reports a directory", async () => {
    expect(await userError(() => readHistoryFile(dir))).toBe(`cannot read ${dir}: is a directory`);
  });

  it("rejects an empty file", async () => {
    const path = await tempFile("empty.jsonl", "");
    expect(await userError(() => readHistoryFile(path))).toBe(
      `${path}: no history entries (the file is empty or blank)`,
    );
  });
});
