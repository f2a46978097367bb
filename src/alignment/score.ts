/**
 * The validation gate's metric: exact match after normalization, averaged over interactions.
 * Normalization lowercases, drops surrounding quotes/punctuation and collapses whitespace, so
 * "Sci-Fi." matches "sci-fi"; anything else (extra words, a different label) is a miss. This
 * suits LaMP-style short labels; for free-form answers it is strict by design.
 */
export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim()
    .replace(/^[\s"'`“”‘’.,;:!?()[\]]+|[\s"'`“”‘’.,;:!?()[\]]+$/g, "");
}

export function exactMatchScore(pairs: { answer: string; truth: string }[]): number {
  if (pairs.length === 0) return 0;
  return pairs.filter((p) => normalizeAnswer(p.answer) === normalizeAnswer(p.truth)).length / pairs.length;
}
