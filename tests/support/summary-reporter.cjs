// Ends a jest run with one plain line, "jest: N passed, N failed, N skipped", that any CI reads.
// A suite that fails to load (a missing file, a syntax error) runs no test: it counts as one
// failure, so the line never says "0 failed" of a run that failed.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const {
      numPassedTests,
      numFailedTests,
      numPendingTests,
      numTodoTests,
      numRuntimeErrorTestSuites: unloaded,
    } = results;
    const note =
      unloaded > 0 ? `; ${unloaded} ${unloaded === 1 ? "suite" : "suites"} failed to load (counted as failed)` : "";
    process.stdout.write(
      `jest: ${numPassedTests} passed, ${numFailedTests + unloaded} failed, ${numPendingTests + numTodoTests} skipped${note}\n`,
    );
  }
}
module.exports = SummaryReporter;
