/**
 * Picking the passages of a long document that best match a question, so a
 * research step quotes what matters instead of the first pages. (Downloading
 * and saving documents live in `lib/ingest/`.)
 */
import "server-only";
import { stemmer } from "stemmer";
import { removeStopwords } from "stopword";
import { chunkText } from "@/lib/ingest/chunk-text";

/** Stemmed content words, so "vacuuming" in a passage matches "vacuum" in the question. */
function stems(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]{3,}/gu) ?? [];
  return removeStopwords(words).map((word) => stemmer(word));
}

/**
 * The parts of `text` that share the most words with `query`, in document
 * order, at most `maxChars` in all. Only the first 400k characters are
 * considered: enough for a book, and bounded work per source.
 */
export function bestPassages(
  text: string,
  query: string,
  options: { maxChars?: number; passageChars?: number } = {},
): string {
  const maxChars = options.maxChars ?? 1_600;
  const wanted = new Set(stems(query));
  const chunks = chunkText(text.slice(0, 400_000), {
    maxChars: options.passageChars ?? 800,
    overlap: 0,
  });
  // BM25-like: rare question words count for more, repeats for a little more.
  const counts = chunks.map((chunk) => {
    const frequency = new Map<string, number>();
    for (const word of stems(chunk.text))
      if (wanted.has(word)) frequency.set(word, (frequency.get(word) ?? 0) + 1);
    return frequency;
  });
  const weight = new Map<string, number>();
  for (const word of wanted) {
    const containing = counts.filter((frequency) => frequency.has(word)).length;
    weight.set(word, containing ? Math.log(1 + chunks.length / containing) : 0);
  }
  const scored = chunks.map((chunk, i) => {
    let score = 0;
    for (const [word, n] of counts[i]!) score += weight.get(word)! * (1 + Math.log(n));
    return { chunk, score };
  });
  const picked: typeof chunks = [];
  let used = 0;
  for (const { chunk } of [...scored].sort(
    (a, b) => b.score - a.score || a.chunk.index - b.chunk.index,
  )) {
    if (used + chunk.text.length > maxChars && picked.length > 0) break;
    picked.push(chunk);
    used += chunk.text.length;
  }
  return picked
    .sort((a, b) => a.index - b.index)
    .map((chunk) => chunk.text.trim())
    .join("\n…\n")
    .slice(0, maxChars);
}
