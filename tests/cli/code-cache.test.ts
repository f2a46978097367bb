/**
 * The compiled CLI runs a command from V8's code cache (src/cli/code-cache.ts): the first run
 * of a command writes its cache, later runs use it as is, a cache V8 refuses is rewritten, a
 * cache from an older build is removed, and no cache ("off", or a folder that cannot be
 * written) changes nothing the user sees. On the real executable; start-up times are measured
 * by bench/cli-startup.ts.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCli } from "../support/cli.js";
import { tempDir } from "../../testing/fixtures.js";

/** A command of the whole CLI that opens the store and fails the same way every time, before any model call. */
const unknownUser = (cacheDir: string, dataDir = tempDir()) =>
  runCli(["ask", "--user", "nobody", "hi"], {
    PERSONA_AGENT_DATA_DIR: dataDir,
    PERSONA_AGENT_CODE_CACHE: cacheDir,
    PERSONA_AGENT_MODEL: "openai:x",
    PERSONA_AGENT_EMBEDDINGS: "openai:e",
    OPENAI_BASE_URL: "http://127.0.0.1:9/v1", // never called
  });

function expectUnknownUser(result: { code: number; stdout: string; stderr: string }): void {
  expect(result).toEqual({ code: 2, stdout: "", stderr: 'persona-agent: unknown user "nobody": ingest a history first (persona-agent ingest --user ... --file ...)\n' });
}

/** The whole CLI's cache files (the launcher's, written by every command, aside). */
const cacheFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith("all.cjs-") && name.endsWith(".bin"));
const launcherCacheFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith("launcher.cjs-"));

test("the first run of a command writes its cache, the next uses it without rewriting", async () => {
  const cacheDir = tempDir();
  expectUnknownUser(await unknownUser(cacheDir));
  const [file] = cacheFiles(cacheDir);
  expect(file).toMatch(new RegExp(`^all\\.cjs-\\d+-\\d+-${process.version.replace(/\./g, "\\.")}-${process.arch}-ask\\.bin$`));
  const written = statSync(join(cacheDir, file!));
  expect(written.size).toBeGreaterThan(10_000);

  expectUnknownUser(await unknownUser(cacheDir));
  expect(cacheFiles(cacheDir)).toEqual([file]);
  expect(statSync(join(cacheDir, file!)).mtimeMs).toBe(written.mtimeMs); // accepted by V8, not rewritten
});

test("a cache V8 refuses is rewritten; an older build's cache is removed", async () => {
  const cacheDir = tempDir();
  expectUnknownUser(await unknownUser(cacheDir));
  const [file] = cacheFiles(cacheDir);
  writeFileSync(join(cacheDir, file!), "not V8 bytecode");
  const stale = "all.cjs-123-456-v20.0.0-x64-persona.bin";
  writeFileSync(join(cacheDir, stale), "from an older build");

  expectUnknownUser(await unknownUser(cacheDir));
  expect(cacheFiles(cacheDir)).toEqual([file]);
  expect(readFileSync(join(cacheDir, file!)).length).toBeGreaterThan(10_000);
});

test("with the cache off, or a cache folder that cannot be written, commands work the same", async () => {
  expectUnknownUser(await unknownUser("off"));
  const notADir = join(tempDir(), "file");
  writeFileSync(notADir, "");
  expectUnknownUser(await unknownUser(join(notADir, "cache")));
});

test("--help uses only the launcher's cache, which later commands reuse", async () => {
  const cacheDir = tempDir();
  expect((await runCli(["--help"], { PERSONA_AGENT_CODE_CACHE: cacheDir })).code).toBe(0);
  const [launcher] = launcherCacheFiles(cacheDir);
  expect(launcher).toMatch(/^launcher\.cjs-\d+-\d+-v[\d.]+-\w+-launcher\.bin$/);
  expect(cacheFiles(cacheDir)).toEqual([]);
  const written = statSync(join(cacheDir, launcher!)).mtimeMs;
  expect((await runCli(["persona", "--user", "nobody"], { PERSONA_AGENT_DATA_DIR: tempDir(), PERSONA_AGENT_CODE_CACHE: cacheDir })).code).toBe(2);
  expect(cacheFiles(cacheDir)).toEqual([expect.stringMatching(/-persona\.bin$/)]);
  expect(launcherCacheFiles(cacheDir)).toEqual([launcher]);
  expect(statSync(join(cacheDir, launcher!)).mtimeMs).toBe(written);
});
