/**
 * How long does another writer wait for SQLite's write lock while large memory adds run? Starts
 * `--adds` processes (bench/large-add.ts), each adding `--entries` entries for its own user to one
 * database, and meanwhile a probe connection, as another user's ask would, takes the write lock
 * (BEGIN IMMEDIATE with the store's busy timeout), writes a row and commits, every 50 ms. Prints
 * the probe's waits while the adds wrote, and the adds' wall time.
 *   npm run bench:sqlite-contention [-- --adds 2 --entries 100000]
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { BUSY_TIMEOUT_MS } from "../src/store/sqlite-busy.js";
import { tempDir } from "../testing/fixtures.js";
import { fmt, median, p95, table } from "./lib.js";

const { values } = parseArgs({
  options: { adds: { type: "string", default: "2" }, entries: { type: "string", default: "100000" } },
});
const dataDir = tempDir("bench-sqlite-contention-");
const file = join(dataDir, "store.sqlite");
new SqliteStore(file).close(); // the schema, before the adds and the probe open it

const script = fileURLToPath(new URL("./large-add.ts", import.meta.url));
const started = performance.now();
let running = Number(values.adds);
const adds = Array.from(
  { length: running },
  (_, i) =>
    new Promise<number>((resolve, reject) =>
      execFile(
        process.execPath,
        ["--import", "tsx", script, dataDir, `bulk${i}`, values.entries],
        { env: { PATH: process.env.PATH }, maxBuffer: 1 << 20 },
        (error) => {
          running--;
          if (error) reject(error);
          else resolve((performance.now() - started) / 1000);
        },
      ),
    ),
);

const probe = new Database(file);
probe.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
probe.exec("CREATE TABLE IF NOT EXISTS bench_probe (at INTEGER)");
const waits: number[] = [];
let busy = 0;
while (running > 0) {
  const before = performance.now();
  try {
    probe.exec("BEGIN IMMEDIATE");
    waits.push(performance.now() - before);
    probe.prepare("INSERT INTO bench_probe VALUES (?)").run(Date.now());
    probe.exec("COMMIT");
  } catch (error) {
    if (!(error as { code?: string }).code?.startsWith("SQLITE_BUSY")) throw error;
    busy++;
  }
  await sleep(50);
}
const seconds = await Promise.all(adds);
probe.close();

// The adds embed first (no lock) and write last: the probes that waited at all are the ones
// taken while the adds wrote.
const contended = waits.filter((ms) => ms >= 1);
console.log(
  table(
    [
      "adds x entries",
      "probes",
      "waited",
      "median wait ms",
      "p95 wait ms",
      "max wait ms",
      "busy (> 5 s)",
      "adds took s",
    ],
    [
      [
        `${values.adds} x ${values.entries}`,
        waits.length + busy,
        contended.length,
        fmt(median(contended), 0),
        fmt(p95(contended), 0),
        fmt(Math.max(0, ...contended), 0),
        busy,
        seconds.map((s) => fmt(s, 1)).join(", "),
      ],
    ],
  ),
);
