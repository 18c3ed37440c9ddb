/**
 * Extractive summarisation by TextRank (Mihalcea & Tarau, 2004): sentences
 * are the vertices of a graph weighted by their content-word overlap, and a
 * weighted PageRank finds the ones the rest of the text keeps returning to.
 */
import { splitSentences, terms } from "@/lib/ai/demo-model/text";

const DAMPING = 0.85;
const MAX_ITERATIONS = 100;
const TOLERANCE = 1e-9;

export interface RankedSentence {
  /** Position in the input (0-based). */
  index: number;
  text: string;
  score: number;
}

/**
 * TextRank's sentence similarity: shared terms normalised by the log of the
 * sentence lengths, so long sentences do not win by length alone.
 */
export function sentenceSimilarity(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const setB = new Set(b);
  let overlap = 0;
  for (const term of new Set(a)) if (setB.has(term)) overlap += 1;
  if (overlap === 0) return 0;
  const norm = Math.log(a.length) + Math.log(b.length);
  // NOTE: two one-term sentences have norm 0; sharing their only term is a full match.
  return norm > 0 ? overlap / norm : 1;
}

/** Every sentence of `text` with its TextRank score, in document order. */
export function rankSentences(text: string): RankedSentence[] {
  const sentences = splitSentences(text);
  const termLists = sentences.map((sentence) => terms(sentence));
  const n = sentences.length;
  const weights: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const w = sentenceSimilarity(termLists[i]!, termLists[j]!);
      weights[i]![j] = w;
      weights[j]![i] = w;
    }
  }
  const outWeight = weights.map((row) => row.reduce((sum, w) => sum + w, 0));

  let scores = new Array<number>(n).fill(1 / Math.max(n, 1));
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const next = new Array<number>(n).fill((1 - DAMPING) / Math.max(n, 1));
    for (let j = 0; j < n; j++) {
      if (outWeight[j] === 0) continue;
      const share = (DAMPING * scores[j]!) / outWeight[j]!;
      for (let i = 0; i < n; i++) {
        const w = weights[j]![i]!;
        if (w > 0) next[i]! += share * w;
      }
    }
    const delta = next.reduce((sum, value, i) => sum + Math.abs(value - scores[i]!), 0);
    scores = next;
    if (delta < TOLERANCE) break;
  }
  return sentences.map((sentence, index) => ({ index, text: sentence, score: scores[index]! }));
}

/**
 * The `maxSentences` highest-ranked sentences, returned in document order so
 * the summary reads like the source. Ties go to the earlier sentence.
 */
export function summarize(text: string, maxSentences: number): RankedSentence[] {
  const ranked = rankSentences(text);
  const chosen = [...ranked]
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, Math.max(0, maxSentences));
  return chosen.sort((a, b) => a.index - b.index);
}

/** A summary length that grows slowly with the text: 1 for tiny inputs, at most 5. */
export function defaultSummaryLength(sentenceCount: number): number {
  return Math.min(5, Math.max(1, Math.round(Math.sqrt(sentenceCount))));
}
