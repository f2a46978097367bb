/**
 * Errors in the user's own terms, on the real executable: a mistake names the flag the user typed
 * (never an internal name) and exits 2; a service that cannot be reached or used is named by its
 * URL or path and the setting that gave it, and exits 3; `--version` prints the version.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { runCli } from "../support/cli.js";
import { tempDir, unreachableUrl } from "../../testing/fixtures.js";
import { useFaultyCli } from "../faults/support.js";
import { createTestDatabase, describeWithPostgres, TEST_DATABASE_URL, type TestDatabase } from "../support/postgres.js";

/** Exactly one line on stderr, nothing on stdout, the given exit code. */
function expectOneLineError(
  result: { code: number; stdout: string; stderr: string },
  code: number,
  message: RegExp | string,
): void {
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^persona-agent: [^\n]+\n$/);
  if (typeof message === "string") expect(result.stderr).toBe(`persona-agent: ${message}\n`);
  else expect(result.stderr).toMatch(message);
  expect(result.code).toBe(code);
}

test("--version prints package.json's version", async () => {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  expect(await runCli(["--version"], {})).toEqual({ code: 0, stdout: `${version}\n`, stderr: "", progress: [] });
});

describe("a data directory that cannot be one: exit 2, naming the path and the setting that gave it", () => {
  const file = join(tempDir(), "a-file");
  writeFileSync(file, "not a directory");

  test("--data-dir", async () => {
    expectOneLineError(
      await runCli(["--data-dir", file, "persona", "--user", "alice"], {}),
      2,
      `cannot use the data directory ${file} (--data-dir): a file is in the way`,
    );
  });

  test("PERSONA_AGENT_DATA_DIR, below a file", async () => {
    const below = join(file, "data");
    expectOneLineError(
      await runCli(["persona", "--user", "alice"], { PERSONA_AGENT_DATA_DIR: below }),
      2,
      `cannot use the data directory ${below} (PERSONA_AGENT_DATA_DIR): a file is in the way`,
    );
  });
});

describe("the flags the user typed, not the API's names", () => {
  const suite = useFaultyCli("cli-errors-");

  test("align past the operator's bounds names --batch and --iterations", async () => {
    expectOneLineError(
      await runCli(["align", "--user", "alice", "--batch", "100"], suite.env),
      2,
      "--batch must be at most 32 (the operator's PERSONA_AGENT_MAX_BATCH), got 100",
    );
    expectOneLineError(
      await runCli(["align", "--user", "alice", "--iterations", "11"], suite.env),
      2,
      "--iterations must be at most 10 (the operator's PERSONA_AGENT_MAX_ITERATIONS), got 11",
    );
  });

  test("ask --k past its limit names --k", async () => {
    expectOneLineError(
      await runCli(["ask", "--user", "alice", "--k", "100", "hi"], suite.env),
      2,
      '--k must be an integer from 1 to 64, got "100"',
    );
  });

  test("align --validate without older interactions names --validate", async () => {
    expectOneLineError(
      await runCli(["align", "--user", "alice", "--batch", "4", "--validate"], suite.env),
      2,
      '--validate needs interactions older than the batch of 4: user "alice" has only 4',
    );
  });

  test("feedback with alignment options past the bounds is refused before the feedback is stored", async () => {
    const before = await suite.state();
    const sent = suite.chat();
    const result = await runCli(
      ["feedback", "--user", "alice", "--query", "Tag this movie: a moon base", "--truth", "sci-fi", "--batch", "100"],
      suite.env,
    );
    expectOneLineError(result, 2, "--batch must be at most 32 (the operator's PERSONA_AGENT_MAX_BATCH), got 100");
    expect(await suite.state()).toEqual(before);
    expect(suite.chat()).toBe(sent);
  });

  test("an unknown user is told the command to run", async () => {
    expectOneLineError(
      await runCli(["align", "--user", "nobody"], suite.env),
      2,
      'unknown user "nobody": no persona yet (run persona-agent ingest first)',
    );
  });

  test("an unreachable model is named by its URL and the variable that sets it", async () => {
    const url = await unreachableUrl();
    const result = await runCli(["ask", "--user", "alice", "Tag this movie: a moon base"], {
      ...suite.env,
      OPENAI_BASE_URL: url,
    });
    expectOneLineError(
      result,
      3,
      `cannot reach the model provider at ${url} (ECONNREFUSED); check OPENAI_BASE_URL and your network`,
    );
  });
});

describe("a database that cannot be used: exit 3, naming host and database (never the password) and the setting used", () => {
  test("--database-url and PERSONA_AGENT_DATABASE_URL", async () => {
    const { host } = new URL(await unreachableUrl());
    const url = `postgres://someone:s3cret@${host}/mydb`;
    const flag = await runCli(["--database-url", url, "persona", "--user", "alice"], {});
    expectOneLineError(
      flag,
      3,
      new RegExp(`^persona-agent: cannot use the database at ${host}/mydb \\(--database-url\\): .*ECONNREFUSED`),
    );
    const variable = await runCli(["persona", "--user", "alice"], { PERSONA_AGENT_DATABASE_URL: url });
    expectOneLineError(
      variable,
      3,
      new RegExp(`^persona-agent: cannot use the database at ${host}/mydb \\(PERSONA_AGENT_DATABASE_URL\\): `),
    );
    expect(flag.stderr + variable.stderr).not.toContain("s3cret");
  });
});

/** A superuser may create anything anywhere: the permission case cannot be shown with one. */
async function isSuperuser(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<{ rolsuper: boolean }>("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
      .rows[0]!.rolsuper;
  } finally {
    await client.end();
  }
}

const describeWithUnprivilegedRole = TEST_DATABASE_URL && !(await isSuperuser()) ? describeWithPostgres : describe.skip;

describeWithUnprivilegedRole("a PostgreSQL role that may not create tables", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    // The role owns the database; without CREATE on it, it cannot create the schema LangGraph's tables go in.
    await client.query(`REVOKE CREATE ON DATABASE ${new URL(database.url).pathname.slice(1)} FROM CURRENT_USER`);
    await client.end();
  });
  afterAll(() => database?.drop());

  test("one line saying what the role needs", async () => {
    const { username, host, pathname } = new URL(database.url);
    const result = await runCli(["--database-url", database.url, "persona", "--user", "alice"], {});
    expectOneLineError(
      result,
      3,
      `the database role ${username} may not create persona-agent's tables in ${host}${pathname} (--database-url): give it a database it owns (CREATE DATABASE <name> OWNER ${username}), or CREATE on database ${pathname.slice(1)} and on its schema public`,
    );
  });
});
