/**
 * Every way of not having a usable local model is a one-line UserError naming the path and
 * what to set instead; and the real CLI runs `local:` end to end on the tiny model.
 */
import { lookup } from "node:dns/promises";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../src/errors/errors.js";
import { createChatModel } from "../../src/models/chat.js";
import {
  ChatLlamaCpp,
  DEFAULT_LOCAL_MODEL,
  disposeLocalModels,
  resolveLocalModel,
} from "../../src/models/local/index.js";
import { runCli } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";
import { tinyLlamaGguf, writeTinyLlama } from "../../testing/tiny-gguf.js";

const OPTIONS = { temperature: 0.1, timeoutMs: 60_000, maxRetries: 0 };
const WHAT_TO_SET =
  /PERSONA_AGENT_MODEL=local:<path to a \.gguf file>, or a hosted model \(PERSONA_AGENT_MODEL=openai:\.\.\. \/ bedrock:\.\.\.\)/;
const EXAMPLE = new URL("../../examples/movie-fan.jsonl", import.meta.url).pathname;

async function userError(work: Promise<unknown>): Promise<UserError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as Error).message).not.toContain("\n");
  return error as UserError;
}

describe("local model errors", () => {
  const dir = tempDir();
  afterAll(() => disposeLocalModels());

  test("a missing file", async () => {
    const e = await userError(createChatModel(`local:${join(dir, "missing.gguf")}`, OPTIONS));
    expect(e.message).toContain(`local model file not found: ${join(dir, "missing.gguf")}`);
    expect(e.message).toMatch(WHAT_TO_SET);
  });

  test("a directory instead of a file", async () => {
    const e = await userError(createChatModel(`local:${dir}`, OPTIONS));
    expect(e.message).toContain(`local model path is not a file: ${dir}`);
  });

  // root reads any file whatever its mode, so this case only exists for other users.
  (process.getuid?.() === 0 ? test.skip : test)("an unreadable file", async () => {
    const path = writeTinyLlama(join(dir, "locked.gguf"));
    chmodSync(path, 0o000);
    const e = await userError(createChatModel(`local:${path}`, OPTIONS));
    expect(e.message).toContain(`cannot read local model file ${path} (EACCES)`);
  });

  test("a file that is not a GGUF (checked by its magic bytes, before llama.cpp sees it)", async () => {
    const path = join(dir, "model.bin");
    writeFileSync(path, "PK\u0003\u0004 not a model");
    const e = await userError(createChatModel(`local:${path}`, OPTIONS));
    expect(e.message).toContain(`not a GGUF model file: ${path}`);
    expect(e.message).toMatch(WHAT_TO_SET);
  });

  test("a truncated GGUF that llama.cpp refuses", async () => {
    const path = join(dir, "truncated.gguf");
    writeFileSync(path, tinyLlamaGguf().subarray(0, 4096));
    const e = await userError(new ChatLlamaCpp({ modelPath: path }).invoke("hi"));
    expect(e.message).toContain(`llama.cpp cannot load ${path}`);
  });

  test("an https URL whose host does not resolve", async () => {
    const e = await userError(resolveLocalModel("https://models.example.invalid/m.gguf", join(dir, "cache")));
    expect(e.message).toContain("cannot download https://models.example.invalid/m.gguf: no network");
  });

  test("an hf: URI with no network", async () => {
    const online = await lookup("huggingface.co").then(
      () => true,
      () => false,
    );
    if (online) return; // with a network the URI would really download: nothing to check here
    const e = await userError(createChatModel(`local:${DEFAULT_LOCAL_MODEL}`, OPTIONS));
    expect(e.message).toMatch(
      /^cannot download hf:Qwen\/\S+: no network \(huggingface\.co does not resolve\); set PERSONA_AGENT_MODEL=local:/,
    );
  });

  test("an hf: model downloaded once is found in the cache offline", async () => {
    const cache = join(dir, "models");
    mkdirSync(cache, { recursive: true });
    // node-llama-cpp's cache file name for an explicit-file URI: hf_<user>_<file>.
    const cached = join(cache, "hf_Qwen_qwen2.5-1.5b-instruct-q4_k_m.gguf");
    copyFileSync(writeTinyLlama(join(dir, "seed.gguf")), cached);
    await expect(resolveLocalModel(DEFAULT_LOCAL_MODEL, cache)).resolves.toBe(cached);
  });
});

describe("the CLI on local:", () => {
  const dataDir = tempDir();
  const env = () => ({
    PERSONA_AGENT_DATA_DIR: dataDir,
    PERSONA_AGENT_LOCAL_MAX_TOKENS: "128",
    PERSONA_AGENT_WIKIPEDIA_URL: "http://127.0.0.1:9/w/api.php",
  });

  test("a missing model is one line on stderr and exit code 2", async () => {
    const r = await runCli(
      ["ingest", "--user", "u", "--file", EXAMPLE, "--model", `local:${join(dataDir, "nope.gguf")}`],
      env(),
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^persona-agent: local model file not found: .*nope\.gguf; set PERSONA_AGENT_MODEL=/),
    ]);
  });

  test("ingest and ask --json run on the tiny model", async () => {
    const model = `local:${writeTinyLlama(join(dataDir, "tiny.gguf"))}`;
    const ingest = await runCli(
      ["ingest", "--user", "u", "--task", "lamp-2m", "--file", EXAMPLE, "--model", model, "--json"],
      env(),
    );
    expect(ingest.stderr).not.toMatch(/error/i);
    expect(JSON.parse(ingest.stdout)).toMatchObject({ user: "u", personaVersion: 1 });

    const ask = await runCli(
      [
        "ask",
        "--user",
        "u",
        "--json",
        "--max-tool-steps",
        "1",
        "--model",
        model,
        "Which tag fits: a heist inside dreams?",
      ],
      env(),
    );
    expect(ask.code).toBe(0);
    const out = JSON.parse(ask.stdout) as {
      answer: string;
      personaVersion: number;
      toolCalls: { name: string; args: { query: string } }[];
    };
    expect(typeof out.answer).toBe("string");
    for (const call of out.toolCalls) {
      expect(["memory_retrieval", "wikipedia_search"]).toContain(call.name);
      expect(typeof call.args.query).toBe("string");
    }
  });
});
