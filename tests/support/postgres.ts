/**
 * A fresh PostgreSQL database per test file, on the server named by
 * PERSONA_AGENT_TEST_DATABASE_URL (a role allowed to CREATE DATABASE). `.ci/run` installs and
 * starts PostgreSQL and sets it, so CI always runs these suites; without it they are skipped
 * and say so.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_URL = process.env.PERSONA_AGENT_TEST_DATABASE_URL;

if (!TEST_DATABASE_URL && process.env.CI) {
  throw new Error("CI must set PERSONA_AGENT_TEST_DATABASE_URL: the PostgreSQL suites may not be skipped there");
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error("PERSONA_AGENT_TEST_DATABASE_URL is not set");
  const name = `persona_test_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** The backends a CLI suite runs on with `describe.each`: [name, usePostgres]; PostgreSQL when configured. */
export const BACKENDS: [string, boolean][] = [
  ["SQLite", false],
  ...(TEST_DATABASE_URL ? [["PostgreSQL", true] as [string, boolean]] : []),
];

/** `describe` when a test server is configured, otherwise a visible skip. */
export const describeWithPostgres = TEST_DATABASE_URL ? describe : describe.skip;
