/**
 * What a running `eval` shows on stderr: queries done of the total, failures, tokens and cost so
 * far, and the time left. On a terminal a bar redrawn in place; otherwise (nohup, CI, a redirect)
 * one line every `everyMs`, so a log of a long run is never silent for longer.
 */
import type { RunProgress } from "../eval/runner.js";
import { formatCost } from "../eval/prices.js";

/** `45s`, `3m 05s`, `2h 03m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
}

/** The figures of one progress report; the time left comes from this process's own pace. */
export function progressFigures(p: RunProgress, elapsedMs: number) {
  const left = p.total - p.done;
  const eta =
    left === 0
      ? "done"
      : p.ran === 0
        ? "ETA after the first query"
        : `ETA ${formatDuration((elapsedMs / p.ran) * left)}`;
  const tokens = (p.spent.inputTokens + p.spent.outputTokens).toLocaleString("en-US");
  // Not `eta`: cli-progress fills that placeholder itself (in seconds, "NULL" before it knows).
  return {
    failed: `${p.failures} failed`,
    tokens: `${tokens} tokens`,
    cost: formatCost(p.cost),
    elapsed: `${formatDuration(elapsedMs)} elapsed`,
    timeLeft: eta,
  };
}

export function progressLine(label: string, p: RunProgress, elapsedMs: number): string {
  const f = progressFigures(p, elapsedMs);
  return `${label}: ${p.done}/${p.total} queries, ${f.failed}, ${f.tokens}, ${f.cost}, ${f.elapsed}, ${f.timeLeft}`;
}

export interface EvalProgress {
  update(progress: RunProgress): void;
  stop(): void;
}

export async function evalProgress(
  label: string,
  options: { everyMs: number; stream?: NodeJS.WriteStream },
): Promise<EvalProgress> {
  const stream = options.stream ?? process.stderr;
  const started = Date.now();
  let last: RunProgress | undefined;
  if (stream.isTTY) {
    // The CommonJS module object (named exports of CommonJS differ between Node and the bundle).
    const { SingleBar, Presets } = (await import("cli-progress")).default;
    const bar = new SingleBar(
      {
        format: `${label} {bar} {value}/{total} queries | {failed} | {tokens} | {cost} | {timeLeft}`,
        stream,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    let shown = false;
    // Redrawn every second too, so the elapsed time and ETA move while a slow query runs.
    const timer = setInterval(
      () => last && bar.update(last.done, progressFigures(last, Date.now() - started)),
      1000,
    ).unref();
    return {
      update(p) {
        last = p;
        if (!shown) bar.start(p.total, p.done, progressFigures(p, Date.now() - started));
        shown = true;
        bar.update(p.done, progressFigures(p, Date.now() - started));
      },
      stop() {
        clearInterval(timer);
        if (shown) bar.stop();
      },
    };
  }
  const print = () => last && stream.write(`${progressLine(label, last, Date.now() - started)}\n`);
  const timer = setInterval(print, options.everyMs).unref();
  return {
    update(p) {
      const first = last === undefined;
      last = p;
      if (first) print(); // the run's size, at once
    },
    stop() {
      clearInterval(timer);
      print(); // where it ended
    },
  };
}
